import {
  DescribeSecretCommand,
  ListSecretVersionIdsCommand,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { SecretsManagerRotationState } from '../../adapters/aws/secret-rotation-state.js';
import { WATCHDOG_SETTINGS } from '../../core/contract.js';
import { ConfigurationError } from '../../core/errors.js';
import { assessStaleness } from '../../core/rotation/staleness.js';
import { createWatchdogHandler, loadWatchdogConfig } from '../../lambda/watchdog-runtime.js';

const sm = mockClient(SecretsManagerClient);
const client = new SecretsManagerClient({ region: 'eu-west-3' });
beforeEach(() => sm.reset());
afterAll(() => sm.restore());

const ARN = 'arn:aws:secretsmanager:eu-west-3:123456789012:secret:svc/stripe-secret-key-AbCdEf';
const NOW = new Date('2026-12-03T12:00:00Z');
const hoursAgo = (hours: number) => new Date(NOW.getTime() - hours * 3_600_000);
const LIMITS = { overdueAfterHours: 8 * 24, pendingMaxHours: 6 };

/** DescribeSecret and ListSecretVersionIds of a secret rotated `rotatedHoursAgo`, optionally with a pending version. */
function secretInAws(options: { rotatedHoursAgo?: number; pendingHoursAgo?: number; enabled?: boolean }) {
  sm.on(DescribeSecretCommand).resolves({
    ARN,
    RotationEnabled: options.enabled ?? true,
    CreatedDate: hoursAgo(1000),
    ...(options.rotatedHoursAgo === undefined ? {} : { LastRotatedDate: hoursAgo(options.rotatedHoursAgo) }),
  });
  sm.on(ListSecretVersionIdsCommand).resolves({
    Versions: [
      { VersionId: 'current', VersionStages: ['AWSCURRENT', 'AWSPENDING'], CreatedDate: hoursAgo(100) },
      ...(options.pendingHoursAgo === undefined
        ? []
        : [
            {
              VersionId: 'pending',
              VersionStages: ['AWSPENDING'],
              CreatedDate: hoursAgo(options.pendingHoursAgo),
            },
          ]),
    ],
  });
}

async function decide(options: Parameters<typeof secretInAws>[0]) {
  secretInAws(options);
  const state = await new SecretsManagerRotationState(client).rotationState(ARN);
  return assessStaleness(state, NOW, LIMITS);
}

describe('the watchdog decision, on what Secrets Manager reports', () => {
  it('stays quiet for a secret rotated within its period, with AWSPENDING left on the current version', async () => {
    await expect(decide({ rotatedHoursAgo: 100 })).resolves.toEqual({
      hoursSinceLastRotation: 100,
      pendingAgeHours: 0,
      rotationEnabled: true,
      findings: [],
    });
  });

  it('reports an overdue rotation once the last one is older than the period plus the window', async () => {
    expect((await decide({ rotatedHoursAgo: 8 * 24 })).findings).toEqual([]);
    expect(await decide({ rotatedHoursAgo: 8 * 24 + 1 })).toMatchObject({
      hoursSinceLastRotation: 193,
      findings: ['rotation_overdue'],
    });
  });

  it('measures a never-rotated secret from its creation', async () => {
    expect(await decide({})).toMatchObject({ hoursSinceLastRotation: 1000, findings: ['rotation_overdue'] });
  });

  it('reports an AWSPENDING version older than the limit as stuck, and a younger one as a rotation in progress', async () => {
    expect(await decide({ rotatedHoursAgo: 10, pendingHoursAgo: 2 })).toMatchObject({
      pendingAgeHours: 2,
      findings: [],
    });
    expect(await decide({ rotatedHoursAgo: 10, pendingHoursAgo: 6.5 })).toMatchObject({
      pendingAgeHours: 6.5,
      findings: ['pending_stuck'],
    });
  });

  it('reports disabled rotation', async () => {
    expect((await decide({ rotatedHoursAgo: 10, enabled: false })).findings).toEqual(['rotation_disabled']);
  });

  it('reads every page of the version list', async () => {
    sm.on(DescribeSecretCommand).resolves({ ARN, RotationEnabled: true, CreatedDate: hoursAgo(5) });
    sm.on(ListSecretVersionIdsCommand)
      .resolvesOnce({ Versions: [{ VersionId: 'a', VersionStages: ['AWSCURRENT'] }], NextToken: 'next' })
      .resolvesOnce({
        Versions: [{ VersionId: 'b', VersionStages: ['AWSPENDING'], CreatedDate: hoursAgo(7) }],
      });
    const state = await new SecretsManagerRotationState(client).rotationState(ARN);
    expect(assessStaleness(state, NOW, LIMITS)).toMatchObject({
      pendingAgeHours: 7,
      findings: ['pending_stuck'],
    });
    expect(sm.commandCalls(ListSecretVersionIdsCommand)[1]?.args[0].input.NextToken).toBe('next');
  });
});

describe('the watchdog configuration', () => {
  const { rotatedSecretId, overdueAfterHours, pendingMaxHours } = WATCHDOG_SETTINGS;

  it("takes the contract's default for the pending limit; the overdue threshold is the deployment's", () => {
    expect(
      loadWatchdogConfig({ [rotatedSecretId.variable]: ARN, [overdueAfterHours.variable]: '171' }),
    ).toEqual({
      rotatedSecretId: ARN,
      overdueAfterHours: 171,
      pendingMaxHours: pendingMaxHours.default,
    });
  });

  it('names every wrong variable at once', () => {
    let error: unknown;
    try {
      loadWatchdogConfig({ [pendingMaxHours.variable]: '0', [overdueAfterHours.variable]: 'soon' });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigurationError);
    expect((error as ConfigurationError).problems).toEqual([
      expect.stringContaining(`${rotatedSecretId.variable} is not set`),
      expect.stringContaining(`${overdueAfterHours.variable}="soon"`),
      expect.stringContaining(`${pendingMaxHours.variable}="0"`),
    ]);
  });
});

describe('the watchdog handler', () => {
  it('publishes the three metrics in one EMF line and returns its decision', async () => {
    secretInAws({ rotatedHoursAgo: 10, pendingHoursAgo: 9 });
    const lines: string[] = [];
    const write = process.stdout.write;
    process.stdout.write = ((chunk: string) => {
      lines.push(String(chunk));
      return true;
    }) as typeof process.stdout.write;
    let report: Awaited<ReturnType<ReturnType<typeof createWatchdogHandler>>>;
    try {
      const handler = createWatchdogHandler(
        {
          [WATCHDOG_SETTINGS.rotatedSecretId.variable]: ARN,
          [WATCHDOG_SETTINGS.overdueAfterHours.variable]: '192',
          POWERTOOLS_SERVICE_NAME: 'svc',
        },
        { secretsManager: client, now: () => NOW },
      );
      report = await handler();
    } finally {
      process.stdout.write = write;
    }
    expect(report.findings).toEqual(['pending_stuck']);
    const emf = lines.map((line) => JSON.parse(line)).find((entry) => entry._aws !== undefined);
    expect(emf).toMatchObject({
      service: 'svc',
      HoursSinceLastRotation: 10,
      PendingAgeHours: 9,
      RotationEnabled: 1,
    });
  });
});
