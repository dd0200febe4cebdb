/**
 * `doctor`: a read-only check of a live deployment. Facts come in through a `DeploymentProbe` (the AWS
 * adapter reads them); this module only turns them into verdicts, one per check, each with the fix an
 * operator applies when it fails. It never sees a secret value: secrets are described, never read.
 */
import { STACK_OUTPUTS } from '../contract.js';
import { ConfigurationError } from '../errors.js';
import { marksUnfinishedRotation, type SiteList } from '../ports.js';
import { maskKeysIn } from '../rules/keys.js';
import { LEDGER_TABLE_SCHEMA } from '../rules/ledger-schema.js';
import { selectDescriptor, stackDescriptors } from './deployment.js';
import {
  type AlarmFacts,
  type DoctorCheck,
  fail,
  type PolicyDocument,
  pass,
  REDEPLOY,
  type SecretFacts,
  type TrailFacts,
} from './doctor-facts.js';
import {
  alarmCheck,
  keyPolicyCheck,
  subscriptionCheck,
  type TopicFacts,
  topicPolicyCheck,
  trailCheck,
} from './doctor-notices.js';

export interface StackResource {
  readonly type: string;
  readonly logicalId: string;
  readonly physicalId: string;
}

export interface StackFacts {
  readonly status: string;
  readonly outputs: Readonly<Record<string, string>>;
  readonly resources: readonly StackResource[];
}

export interface FunctionFacts {
  readonly state?: string;
  readonly lastUpdateStatus?: string;
  /** Its resource policy lets secretsmanager.amazonaws.com invoke it. */
  readonly invokableBySecretsManager: boolean;
}

export interface TableFacts {
  readonly keySchema: readonly { readonly name: string; readonly type: string }[];
  readonly indexes: readonly {
    readonly name: string;
    readonly keySchema: readonly { readonly name: string; readonly type: string }[];
    readonly projection?: string;
  }[];
}

/** Whether the caller may do what `abort` does on the rotated secret, as IAM's policy simulator says. */
export type AbortPermission =
  | { readonly known: true; readonly caller: string; readonly denied: readonly string[] }
  | { readonly known: false; readonly reason: string };

/** Everything `doctor` reads, all read-only. Each method may throw; the check that needed it then fails. */
export interface DeploymentProbe {
  region(): Promise<string>;
  /** undefined when no such stack exists. */
  stack(name: string): Promise<StackFacts | undefined>;
  secret(secretId: string): Promise<SecretFacts>;
  rotationFunction(functionArn: string): Promise<FunctionFacts>;
  topic(topicArn: string): Promise<TopicFacts>;
  keyPolicy(keyId: string): Promise<PolicyDocument | undefined>;
  trails(): Promise<readonly TrailFacts[]>;
  table(name: string): Promise<TableFacts>;
  /** Throws ConfigurationError naming the invalid lines (parameter and line number), as the function would. */
  siteList(parameter: string): Promise<SiteList>;
  alarms(names: readonly string[]): Promise<readonly AlarmFacts[]>;
  abortPermission(secretArn: string, actions: readonly string[]): Promise<AbortPermission>;
}

/** What `abort` calls on the rotated secret: it re-labels versions, it never writes a value. */
export const ABORT_ACTIONS = [
  'secretsmanager:DescribeSecret',
  'secretsmanager:GetSecretValue',
  'secretsmanager:UpdateSecretVersionStage',
] as const;

/**
 * The stack's facts with the outputs `--stack` reads: the repository stack's named outputs when it has any
 * and no construct id is given, else those of the construct's descriptor (as the other AWS commands read
 * them; ConfigurationError when several and none chosen). A stack with neither is left as it is: its
 * `stack-outputs` check names what is missing.
 */
function withDescriptorOutputs(stackName: string, stack: StackFacts, constructId?: string): StackFacts {
  const named = Object.values(STACK_OUTPUTS).some((output) => stack.outputs[output] !== undefined);
  if (named && constructId === undefined) return stack;
  const descriptors = stackDescriptors(new Map(Object.entries(stack.outputs)));
  if (descriptors.length === 0 && constructId === undefined) return stack;
  const chosen = selectDescriptor(stackName, descriptors, constructId);
  return { ...stack, outputs: { ...stack.outputs, ...Object.fromEntries(chosen.outputs) } };
}

/**
 * Every check of the deployed stack `stackName`, in a fixed order; `constructId` picks the construct when
 * the stack holds several (its descriptor's outputs are checked).
 */
export async function runDoctor(
  probe: DeploymentProbe,
  stackName: string,
  constructId?: string,
): Promise<DoctorCheck[]> {
  const found = await probe.stack(stackName);
  const stack = found === undefined ? undefined : withDescriptorOutputs(stackName, found, constructId);
  if (stack === undefined) {
    const region = await probe.region();
    return [
      fail(
        'stack',
        `no stack ${stackName} in ${region}`,
        'check the name (cdk deploy prints it) and --region',
      ),
    ];
  }
  const checks: Promise<DoctorCheck | DoctorCheck[]>[] = [Promise.resolve(stackCheck(stackName, stack))];
  const out = (name: keyof typeof STACK_OUTPUTS) => stack.outputs[STACK_OUTPUTS[name]];
  const of = (type: string) => stack.resources.filter((resource) => resource.type === type);
  const abort = `stripe-key-rotator abort --stack ${stackName}`;

  const rotated = out('rotatedSecret');
  if (rotated !== undefined) {
    checks.push(
      guarded('rotation', 'secretsmanager:DescribeSecret on the rotated secret', async () => {
        const secret = await probe.secret(rotated);
        return [
          await rotationCheck(probe, secret, of('AWS::Lambda::Function')),
          pendingCheck(secret, abort, stackName),
        ];
      }),
      guarded('abort-permission', 'iam:SimulatePrincipalPolicy', async () =>
        permissionCheck(await probe.abortPermission(rotated, ABORT_ACTIONS), rotated),
      ),
    );
  }
  for (const [id, name] of [
    ['master-key', 'masterApiKeySecret'],
    ['staged-key', 'stagedKeySecret'],
  ] as const) {
    const secretId = out(name);
    if (secretId === undefined) continue;
    checks.push(
      guarded(id, `secretsmanager:DescribeSecret on ${secretId}`, async () =>
        presenceCheck(id, await probe.secret(secretId)),
      ),
    );
  }
  const table = out('ledgerTable');
  if (table !== undefined) {
    checks.push(
      guarded('ledger-table', `dynamodb:DescribeTable on ${table}`, async () =>
        tableCheck(table, await probe.table(table)),
      ),
    );
  }
  const sites = out('sitesParameter');
  if (sites !== undefined) {
    checks.push(
      guarded('site-list', `ssm:GetParameter(s) on ${sites}`, async () => siteListCheck(probe, sites)),
    );
  }
  checks.push(
    notificationChecks(probe, of('AWS::SNS::Topic')),
    guarded('cloudtrail', 'cloudtrail:DescribeTrails and cloudtrail:GetTrailStatus', async () =>
      trailCheck(await probe.region(), await probe.trails()),
    ),
    guarded('alarms', 'cloudwatch:DescribeAlarms', async () =>
      alarmCheck(await probe.alarms(of('AWS::CloudWatch::Alarm').map((alarm) => alarm.physicalId))),
    ),
  );
  return (await Promise.all(checks)).flat();
}

function stackCheck(name: string, stack: StackFacts): DoctorCheck[] {
  const healthy = /_COMPLETE$/.test(stack.status) && !/ROLLBACK|DELETE/.test(stack.status);
  const missing = Object.values(STACK_OUTPUTS).filter((output) => stack.outputs[output] === undefined);
  return [
    healthy
      ? pass('stack', `${name} is ${stack.status}`)
      : fail('stack', `${name} is ${stack.status}`, 'look at the stack events, then cdk deploy again'),
    missing.length === 0
      ? pass('stack-outputs', `all ${Object.keys(STACK_OUTPUTS).length} outputs present`)
      : fail(
          'stack-outputs',
          `missing ${missing.join(', ')}: the checks that need them are skipped`,
          `is it a stripe-key-rotator stack? ${REDEPLOY}`,
        ),
  ];
}

async function rotationCheck(
  probe: DeploymentProbe,
  secret: SecretFacts,
  functions: readonly StackResource[],
): Promise<DoctorCheck> {
  const enable = 'enable it with the construct (cdk deploy); the rotation schedule is part of the stack';
  if (!secret.rotationEnabled || secret.rotationLambdaArn === undefined) {
    return fail('rotation', 'automatic rotation is not enabled on the rotated secret', enable);
  }
  const name = /:function:([^:]+)/.exec(secret.rotationLambdaArn)?.[1] ?? secret.rotationLambdaArn;
  if (!functions.some((fn) => fn.physicalId === name)) {
    return fail('rotation', `rotation names function ${name}, which is not this stack's`, enable);
  }
  const fn = await probe.rotationFunction(secret.rotationLambdaArn);
  const schedule = secret.schedule ?? 'no schedule';
  if (fn.state !== 'Active' || (fn.lastUpdateStatus ?? 'Successful') !== 'Successful') {
    return fail(
      'rotation',
      `function ${name} is ${fn.state ?? 'in an unknown state'} (last update ${fn.lastUpdateStatus ?? 'unknown'})`,
      'look at the function in the Lambda console; cdk deploy again',
    );
  }
  if (!fn.invokableBySecretsManager) {
    return fail('rotation', `function ${name} does not let Secrets Manager invoke it`, REDEPLOY);
  }
  return pass('rotation', `enabled, ${schedule}, function ${name} (Active)`);
}

function pendingCheck(secret: SecretFacts, abort: string, stackName: string): DoctorCheck {
  const last = secret.lastRotatedAt?.toISOString() ?? 'never';
  const pending = secret.versions.find((version) => marksUnfinishedRotation(version.stages));
  if (pending === undefined) {
    return pass('last-rotation', `last rotation ${last}; no rotation pending`);
  }
  const since = pending.createdAt === undefined ? '' : ` since ${pending.createdAt.toISOString()}`;
  return fail(
    'last-rotation',
    `last rotation ${last}; version ${pending.id} is AWSPENDING${since}: a rotation is running or stuck, ` +
      'and Secrets Manager refuses a new one until it ends',
    `unless one is running now (stripe-key-rotator status --stack ${stackName}), end it: ${abort}`,
  );
}

function permissionCheck(permission: AbortPermission, secretArn: string): DoctorCheck {
  if (!permission.known) {
    return {
      id: 'abort-permission',
      ok: null,
      detail: `unknown: ${permission.reason}`,
      fix:
        'ask for iam:SimulatePrincipalPolicy, or check in the IAM policy simulator that you may ' +
        `${ABORT_ACTIONS.join(', ')} on ${secretArn}`,
    };
  }
  return permission.denied.length === 0
    ? pass('abort-permission', `${permission.caller} may run abort (${ABORT_ACTIONS.length} actions allowed)`)
    : fail(
        'abort-permission',
        `${permission.caller} may not ${permission.denied.join(', ')} on the rotated secret`,
        "add the caller to the construct's operator principals (cdk deploy), or use a role that is one",
      );
}

function presenceCheck(id: 'master-key' | 'staged-key', secret: SecretFacts): DoctorCheck {
  const what = id === 'master-key' ? 'master API key secret' : 'staged key secret';
  const current = secret.versions.find((version) => version.stages.includes('AWSCURRENT'));
  if (secret.deletedAt !== undefined) {
    return fail(id, `the ${what} is scheduled for deletion`, 'restore it (RestoreSecret), then check again');
  }
  if (current === undefined) {
    const put =
      id === 'master-key'
        ? "put the sites' X-API-Key in it (aws secretsmanager put-secret-value)"
        : 'stage a key: stripe-key-rotator stage --stack NAME';
    return fail(id, `the ${what} holds no value`, put);
  }
  const changed = secret.lastChangedAt?.toISOString() ?? 'unknown';
  return pass(id, `the ${what} exists and holds a value (last changed ${changed}; value not read)`);
}

function tableCheck(name: string, table: TableFacts): DoctorCheck {
  const schema = LEDGER_TABLE_SCHEMA;
  const keysAre = (keys: TableFacts['keySchema'], hash: string, range: string) =>
    keys.some((k) => k.name === hash && k.type === 'HASH') &&
    keys.some((k) => k.name === range && k.type === 'RANGE');
  const history = table.indexes.find((index) => index.name === schema.historyIndex.name);
  const problems = [
    ...(keysAre(table.keySchema, schema.partitionKey, schema.sortKey)
      ? []
      : [`keys are not ${schema.partitionKey} (HASH) + ${schema.sortKey} (RANGE)`]),
    ...(history === undefined
      ? [`no ${schema.historyIndex.name} index`]
      : keysAre(history.keySchema, schema.historyIndex.partitionKey, schema.historyIndex.sortKey) &&
          history.projection === 'ALL'
        ? []
        : [
            `index ${schema.historyIndex.name} is not ${schema.historyIndex.partitionKey} + ${schema.historyIndex.sortKey}, projection ALL`,
          ]),
  ];
  return problems.length === 0
    ? pass('ledger-table', `${name}: keys and ${schema.historyIndex.name} index as the rotation expects`)
    : fail(
        'ledger-table',
        `${name}: ${problems.join('; ')}`,
        'let the construct create the table, or adopt one with the schema of core/rules/ledger-schema.ts',
      );
}

async function siteListCheck(probe: DeploymentProbe, parameter: string): Promise<DoctorCheck> {
  try {
    const list = await probe.siteList(parameter);
    const duplicates =
      list.duplicates.length > 0 ? `, ${list.duplicates.length} duplicate lines collapsed` : '';
    return pass(
      'site-list',
      `${list.sites.length} sites from ${list.sources.length} parameter(s)${duplicates}`,
    );
  } catch (error) {
    if (!(error instanceof ConfigurationError)) throw error;
    // Where each problem is (parameter and line), never the line itself: site addresses stay out of the output.
    const where = error.problems.map((problem) => problem.split(':')[0]).join('; ');
    const first = error.message.split('\n')[0] ?? '';
    return fail(
      'site-list',
      maskKeysIn(where === '' ? first : `${error.problems.length} invalid line(s): ${where}`),
      `fix the lines named in ${parameter} (one https://host[/path] per line)`,
    );
  }
}

async function notificationChecks(
  probe: DeploymentProbe,
  topics: readonly StackResource[],
): Promise<DoctorCheck[]> {
  const topic = topics[0];
  if (topic === undefined) {
    const detail = 'no notification topic in the stack (a topic of your own: check it by hand)';
    return [{ id: 'notifications', ok: null, detail, fix: 'see docs/aws-behaviour.md' }];
  }
  const arn = topic.physicalId;
  return [
    await guarded(
      'notifications',
      `sns:GetTopicAttributes and sns:ListSubscriptionsByTopic on ${arn}`,
      async () => {
        const facts = await probe.topic(arn);
        const pending = facts.subscriptions.filter((s) => !s.confirmed).length;
        const protocols = [...new Set(facts.subscriptions.map((s) => s.protocol))].join(', ');
        const checks = [
          subscriptionCheck(facts.subscriptions.length, pending, protocols, arn),
          topicPolicyCheck(facts),
        ];
        if (facts.kmsKeyId !== undefined)
          checks.push(await keyPolicyCheck((id) => probe.keyPolicy(id), facts.kmsKeyId));
        return checks;
      },
    ),
  ].flat();
}

/** Runs a check; an AWS call it could not make fails it, naming the permission the caller needs. */
async function guarded(
  id: string,
  needs: string,
  check: () => Promise<DoctorCheck | DoctorCheck[]>,
): Promise<DoctorCheck | DoctorCheck[]> {
  try {
    return await check();
  } catch (error) {
    const reason = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    return fail(id, maskKeysIn(`could not read: ${reason.split('\n')[0]}`), `the caller needs ${needs}`);
  }
}
