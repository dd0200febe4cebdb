/**
 * `doctor`: parse the options, run the core's read-only checks over the AWS probe, print one line per
 * check. The checks themselves are `runDoctor` (core/operations/doctor.ts).
 */
import { AwsDeploymentProbe } from '../../adapters/aws/doctor-probe.js';
import { ConfigurationError, type DoctorCheck, runDoctor } from '../../core/index.js';
import { awsDeps, checkStackName } from './aws.js';
import {
  type CliContext,
  type Command,
  EXIT_NOT_CONFIRMED,
  EXIT_OK,
  PROGRAM,
  parseOptions,
  UsageError,
} from './frame.js';

const OPTIONS = {
  stack: { type: 'string' },
  'construct-id': { type: 'string' },
  region: { type: 'string' },
  profile: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

const HELP = `Usage: ${PROGRAM} doctor --stack <name> [--construct-id <id>] [--region <region>] [--profile <name>] [--json]

Checks a live deployment, reading only (no secret value is ever read), and prints one line per check:
✔ when it holds, ✘ with the fix when it does not, ? when it could not be decided.

Checks: the stack and its outputs; rotation enabled, its schedule and the function it names; the last
rotation and any AWSPENDING version left by one (a stuck rotation, ended with abort); the notification
topic's subscriptions (PendingConfirmation: nobody is told), its policy and its key's policy (EventBridge
and CloudWatch may publish); a CloudTrail trail logging management events in the Region (the rotation
failure and tamper notices need it); the ledger table's keys and history index; the site list (counts
only); the master API key and staged key secrets (described, never read); every alarm's state; whether
you may run abort (IAM's policy simulator; "unknown" when you may not simulate).

Options:
  --stack <name>      the deployed stack (e.g. StripeKeyRotator-live), or any app's stack holding a
                      StripeKeyRotation (its StripeKeyRotationDescriptor… output names the resources)
  --construct-id <id> the construct, when the stack holds several: its path or id (the topic, function
                      and alarm checks still cover every one in the stack)
  --region <region>   AWS Region (default: AWS_REGION or the profile)
  --profile <name>    named profile from ~/.aws/config (default: AWS_PROFILE)
  --json              one JSON document on stdout: {"stack", "ok", "checks": [{id, ok, detail, fix}]}
                      (ok is null for a check that could not be decided)
  -h, --help          show this help

Exit codes:
  0  every check holds (undecided ones included)
  1  a check fails, or AWS could not be reached
  2  usage or configuration error (no --stack, no credentials or Region)
  130/143  interrupted by SIGINT/SIGTERM (at once: it only reads)

Example:
  ${PROGRAM} doctor --stack StripeKeyRotator-live --region eu-west-3
`;

export const doctorCommand: Command = { name: 'doctor', help: HELP, run };

/** Failures of the first call that mean the command cannot reach AWS as configured: exit 2. */
const NOT_CONFIGURED =
  /CredentialsProviderError|UnrecognizedClient|InvalidClientTokenId|ExpiredToken|AccessDenied/;

async function run(argv: readonly string[], cli: CliContext): Promise<number> {
  const values = parseOptions(argv, OPTIONS);
  const stack = values.stack?.trim();
  if (!stack) throw new UsageError('--stack (the deployed stack) is required');
  checkStackName(stack);
  const aws = awsDeps(values);
  const probe = new AwsDeploymentProbe(aws);
  let checks: DoctorCheck[];
  try {
    checks = await runDoctor(probe, stack, values['construct-id']?.trim() || undefined);
  } catch (error) {
    if (
      error instanceof Error &&
      (NOT_CONFIGURED.test(error.name) || /region is missing/i.test(error.message))
    ) {
      throw new ConfigurationError(
        `Reading stack ${stack} failed: ${error.name}: ${error.message.split('\n')[0]} ` +
          '(check --profile / AWS_PROFILE, --region / AWS_REGION and your credentials)',
        { cause: error },
      );
    }
    throw error;
  } finally {
    aws.destroy();
  }
  const ok = checks.every((check) => check.ok !== false);
  if (values.json === true) {
    cli.stdout.write(`${JSON.stringify({ stack, ok, checks: checks.map(jsonCheck) }, null, 2)}\n`);
  } else {
    cli.stdout.write(render(stack, checks));
  }
  return ok ? EXIT_OK : EXIT_NOT_CONFIRMED;
}

function jsonCheck(check: DoctorCheck) {
  return { id: check.id, ok: check.ok, detail: check.detail, fix: check.fix ?? null };
}

function render(stack: string, checks: readonly DoctorCheck[]): string {
  const width = Math.max(...checks.map((check) => check.id.length));
  const lines = checks.map((check) => {
    const mark = check.ok === true ? '✔' : check.ok === false ? '✘' : '?';
    const fix =
      check.ok === true || check.fix === undefined ? '' : `\n  ${''.padEnd(width)}  fix: ${check.fix}`;
    return `${mark} ${check.id.padEnd(width)}  ${check.detail}${fix}`;
  });
  const failed = checks.filter((check) => check.ok === false).length;
  const unknown = checks.filter((check) => check.ok === null).length;
  const summary = `${stack}: ${checks.length} checks, ${failed} failed${unknown === 0 ? '' : `, ${unknown} undecided`}`;
  return `${lines.join('\n')}\n\n${summary}\n`;
}
