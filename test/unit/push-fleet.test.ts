/**
 * The operator's push as a use case: what it reads, asks and pushes, and the plain result it answers, over a
 * site list held as text and a pusher that answers as the engine would.
 */
import { describe, expect, it } from 'vitest';
import { siteListFromText } from '../../adapters/local/static-site-list.js';
import { type PushFleetObserver, type PushFleetPorts, pushFleet } from '../../core/operations/push-fleet.js';
import type { PushRequest, SitePusher, SiteResult } from '../../core/ports.js';
import { fingerprint } from '../../core/rules/keys.js';
import { fakeKey, MASTER_API_KEY } from '../support/rotation-fixtures.js';
import { rejection } from '../support/secret-guard.js';

const KEY = fakeKey('test', 'PushFleet');
const SITES = ['https://a.example', 'https://b.example', 'https://c.example'];
const REQUEST = {
  key: KEY,
  keyMode: 'test' as const,
  masterApiKey: MASTER_API_KEY,
  dryRun: false,
  graceMs: 50,
};

const confirmed = (site: string): SiteResult => ({ site, outcome: 'confirmed', attempts: 1, durationMs: 3 });

/** A pusher that confirms every site it is asked to push, one after the other, and records the requests. */
function confirmingPusher(): SitePusher & { requests: PushRequest[] } {
  const requests: PushRequest[] = [];
  return {
    requests,
    async push(request) {
      requests.push(request);
      const results = request.sites.map(confirmed);
      for (const result of results) await request.onResult?.(result);
      return { results };
    },
  };
}

function ports(overrides: Partial<PushFleetPorts> = {}): PushFleetPorts {
  return {
    siteList: siteListFromText('sites.txt', `${SITES.join('\n')}\n${SITES[0]}\n`),
    keyChecker: { check: async () => 'acct_1Fleet' },
    pusher: confirmingPusher(),
    ...overrides,
  };
}

describe('pushFleet', () => {
  it('pushes the key to every listed site once and reports each result, in list order', async () => {
    const pusher = confirmingPusher();
    const heard: string[] = [];
    const observer: PushFleetObserver = {
      listed: (list) => heard.push(`listed ${list.sites.length}, ${list.duplicates.length} duplicate`),
      pushing: (sites) => heard.push(`pushing ${sites.length}`),
      result: (result) => heard.push(`${result.site} ${result.outcome}`),
    };

    const result = await pushFleet(ports({ pusher }), REQUEST, observer);

    expect(result).toMatchObject({
      kind: 'pushed',
      results: SITES.map(confirmed),
      unknown: [],
      confirmedEarlier: [],
      stoppedBecause: undefined,
      interrupted: false,
    });
    expect(pusher.requests.map((request) => request.sites)).toEqual([SITES]);
    expect(heard).toEqual([
      'listed 3, 1 duplicate',
      'pushing 3',
      ...SITES.map((site) => `${site} confirmed`),
    ]);
  });

  it('on a dry run checks the key with Stripe and answers the plan, contacting no site', async () => {
    const pusher = confirmingPusher();
    const accounts: (string | undefined)[] = [];
    const result = await pushFleet(
      ports({ pusher }),
      { ...REQUEST, dryRun: true, stripeCheck: { account: 'acct_1Fleet' } },
      { stripeAccepted: (account) => accounts.push(account) },
    );

    expect(result).toMatchObject({ kind: 'planned', list: { sites: SITES }, confirmedEarlier: [] });
    expect(accounts).toEqual(['acct_1Fleet']);
    expect(pusher.requests).toEqual([]);
  });

  it('pushes nothing when the go-ahead is refused', async () => {
    const pusher = confirmingPusher();
    const result = await pushFleet(ports({ pusher }), REQUEST, { confirm: async () => false });
    expect(result.kind).toBe('declined');
    expect(pusher.requests).toEqual([]);
  });

  it('leaves out the sites an earlier push of the same key confirmed, counting them as confirmed', async () => {
    const pusher = confirmingPusher();
    const earlierPush = {
      load: async () => ({
        source: '--retry-from r.json',
        keyFingerprint: fingerprint(KEY),
        confirmedSites: [SITES[1] ?? '', 'https://not-listed.example'],
      }),
    };
    const skipped: number[][] = [];
    const result = await pushFleet(ports({ pusher, earlierPush }), REQUEST, {
      skippingConfirmed: (earlier, remaining) => skipped.push([earlier, remaining]),
    });

    expect(result).toMatchObject({ kind: 'pushed', confirmedEarlier: [SITES[1]] });
    expect(pusher.requests[0]?.sites).toEqual([SITES[0], SITES[2]]);
    expect(skipped).toEqual([[1, 2]]);
  });

  it('refuses an earlier push of another key, naming it by its fingerprint only', async () => {
    const other = fakeKey('test', 'AnotherKey');
    const earlierPush = {
      load: async () => ({
        source: '--retry-from r.json',
        keyFingerprint: fingerprint(other),
        confirmedSites: [],
      }),
    };
    const error = await rejection(pushFleet(ports({ earlierPush }), REQUEST));
    expect(error.name).toBe('ConfigurationError');
    expect(error.message).toContain('--retry-from r.json is the result of pushing another key');
    expect(error.message).not.toContain(other);
  });

  it('after an abort launches nothing more, words the sites never contacted as interrupted, and gives up on answers after the grace period', async () => {
    const stop = new AbortController();
    // The first site answers; the abort comes with the second in flight, which never answers.
    const pusher: SitePusher = {
      async push(request) {
        request.onStart?.(SITES[0] ?? '');
        await request.onResult?.(confirmed(SITES[0] ?? ''));
        request.onStart?.(SITES[1] ?? '');
        stop.abort('SIGINT');
        expect(request.remainingTimeMs()).toBe(0);
        await request.onResult?.({
          site: SITES[2] ?? '',
          outcome: 'not_attempted',
          detail: 'not attempted: less than 1 ms of invocation time was left',
          attempts: 0,
          durationMs: 0,
        });
        return new Promise(() => undefined);
      },
    };

    const result = await pushFleet(ports({ pusher }), { ...REQUEST, signal: stop.signal });

    expect(result).toMatchObject({
      kind: 'pushed',
      results: [
        confirmed(SITES[0] ?? ''),
        { site: SITES[2], outcome: 'not_attempted', detail: 'not attempted: interrupted by SIGINT' },
      ],
      unknown: [SITES[1]],
      stoppedBecause: undefined,
      interrupted: true,
    });
  });
});
