/**
 * REQUIRES the moto AWS emulator (`moto_server` on PATH): the suite fails, it does not skip, without it.
 *
 * The site list read from every parameter under a path, through the real SDK paginator against moto,
 * which answers GetParametersByPath 10 parameters a page.
 */
import { GetParametersByPathCommand, PutParameterCommand } from '@aws-sdk/client-ssm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SsmSiteListSource } from '../../adapters/aws/ssm-site-list.js';
import { type MotoClients, type MotoServer, motoClients, startMoto } from '../support/moto.js';

let moto: MotoServer;
let clients: MotoClients;

beforeAll(async () => {
  moto = await startMoto();
  clients = motoClients(moto);
});

afterAll(async () => {
  clients?.destroy();
  await moto?.stop();
});

describe('SsmSiteListSource under a path, against moto', () => {
  it('reads all 25 parameters over several pages, nested ones included, sorted by name', async () => {
    const { ssm } = clients;
    const names = Array.from({ length: 25 }, (_, i) =>
      i % 5 === 0
        ? `/stripe/paged/eu/${String(i).padStart(2, '0')}`
        : `/stripe/paged/${String(i).padStart(2, '0')}`,
    );
    for (const [i, Name] of names.entries()) {
      await ssm.send(
        new PutParameterCommand({
          Name,
          Type: 'String',
          Value: `https://site-${String(i).padStart(2, '0')}.example`,
        }),
      );
    }

    // The listing does span pages: one call does not return it all.
    const firstPage = await ssm.send(
      new GetParametersByPathCommand({ Path: '/stripe/paged/', Recursive: true }),
    );
    expect(firstPage.NextToken).toBeTruthy();

    const list = await new SsmSiteListSource({ client: ssm, parameter: '/stripe/paged/' }).load();

    expect(list.sources).toEqual([...names].sort());
    expect(list.sites).toHaveLength(25);
    expect(new Set(list.sites)).toEqual(
      new Set(names.map((_, i) => `https://site-${String(i).padStart(2, '0')}.example`)),
    );
  });
});
