/**
 * REQUIRES the moto AWS emulator (`moto_server` on PATH; `pip install 'moto[server]'`). Run with
 * `npm run test:emulator`.
 *
 * The watchdog's handler reads real Secrets Manager answers from moto. moto reports RotationEnabled,
 * CreatedDate (no LastRotatedDate until a rotation succeeded) and each version's CreatedDate, all "now":
 * the watchdog's clock is moved forward instead of the secret's dates backward.
 */
import {
  CreateSecretCommand,
  type SecretsManagerClient,
  UpdateSecretVersionStageCommand,
} from '@aws-sdk/client-secrets-manager';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WATCHDOG_SETTINGS } from '../../core/contract.js';
import { createWatchdogHandler } from '../../lambda/watchdog-runtime.js';
import { type MotoServer, motoClients, startMoto, startMotoRotation } from '../support/moto.js';

const HOUR_MS = 3_600_000;
const { pendingMaxHours } = WATCHDOG_SETTINGS;
/** A weekly schedule with a 3-hour window. */
const OVERDUE_AFTER_HOURS = 171;

let moto: MotoServer;
let sm: SecretsManagerClient;
let destroy: () => void;
let secretNumber = 0;

beforeAll(async () => {
  moto = await startMoto();
  ({ sm, destroy } = motoClients(moto));
});

afterAll(async () => {
  destroy?.();
  await moto?.stop();
});

async function createSecret(): Promise<string> {
  secretNumber += 1;
  const created = await sm.send(
    new CreateSecretCommand({ Name: `watchdog/secret-${secretNumber}`, SecretString: 'not-a-key' }),
  );
  if (!created.ARN) throw new Error('moto returned no ARN');
  return created.ARN;
}

/** A secret with rotation enabled and no rotation in progress: RotateSecret, then its AWSPENDING cleared. */
async function rotatingSecret(): Promise<string> {
  const arn = await createSecret();
  const token = await startMotoRotation(sm, arn);
  await sm.send(
    new UpdateSecretVersionStageCommand({
      SecretId: arn,
      VersionStage: 'AWSPENDING',
      RemoveFromVersionId: token,
    }),
  );
  return arn;
}

/** The watchdog's decision about `arn`, `hoursLater` hours from now. */
function watch(arn: string, hoursLater: number) {
  const now = new Date(Date.now() + hoursLater * HOUR_MS);
  return createWatchdogHandler(
    {
      [WATCHDOG_SETTINGS.rotatedSecretId.variable]: arn,
      [WATCHDOG_SETTINGS.overdueAfterHours.variable]: String(OVERDUE_AFTER_HOURS),
    },
    { secretsManager: sm, now: () => now },
  )();
}

describe('the watchdog against moto', () => {
  it('stays quiet for a healthy secret: rotation enabled, nothing pending, within its period', async () => {
    const report = await watch(await rotatingSecret(), 1);
    expect(report).toMatchObject({ rotationEnabled: true, pendingAgeHours: 0, findings: [] });
  });

  it('fires for an overdue rotation once the period plus the window has passed', async () => {
    const arn = await rotatingSecret();
    expect((await watch(arn, OVERDUE_AFTER_HOURS - 1)).findings).toEqual([]);
    expect((await watch(arn, OVERDUE_AFTER_HOURS + 1)).findings).toEqual(['rotation_overdue']);
  });

  it('fires for an AWSPENDING stuck longer than the limit, not for a rotation in progress', async () => {
    const arn = await createSecret();
    await startMotoRotation(sm, arn);
    expect(await watch(arn, pendingMaxHours.default - 1)).toMatchObject({ findings: [] });
    const stuck = await watch(arn, pendingMaxHours.default + 1);
    expect(stuck.findings).toEqual(['pending_stuck']);
    expect(stuck.pendingAgeHours).toBeGreaterThan(pendingMaxHours.default);
  });

  it('fires for a secret whose rotation is not enabled', async () => {
    expect(await watch(await createSecret(), 0)).toMatchObject({
      rotationEnabled: false,
      findings: ['rotation_disabled'],
    });
  });
});
