/**
 * `doctor`'s facts, read from AWS. Read-only calls only (Describe/List/Get, and IAM's policy simulator);
 * no secret value is ever read: secrets are described (DescribeSecret), never fetched.
 */
import {
  CloudFormationClient,
  DescribeStacksCommand,
  paginateListStackResources,
} from '@aws-sdk/client-cloudformation';
import {
  CloudTrailClient,
  DescribeTrailsCommand,
  GetEventSelectorsCommand,
  GetTrailStatusCommand,
} from '@aws-sdk/client-cloudtrail';
import { CloudWatchClient, DescribeAlarmsCommand } from '@aws-sdk/client-cloudwatch';
import { DescribeTableCommand, DynamoDBClient, type KeySchemaElement } from '@aws-sdk/client-dynamodb';
import { GetRoleCommand, IAMClient, SimulatePrincipalPolicyCommand } from '@aws-sdk/client-iam';
import { GetKeyPolicyCommand, KMSClient } from '@aws-sdk/client-kms';
import { GetFunctionConfigurationCommand, GetPolicyCommand, LambdaClient } from '@aws-sdk/client-lambda';
import {
  DescribeSecretCommand,
  GetResourcePolicyCommand,
  ListSecretVersionIdsCommand,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { GetTopicAttributesCommand, paginateListSubscriptionsByTopic, SNSClient } from '@aws-sdk/client-sns';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import {
  type AbortPermission,
  type DeploymentProbe,
  type FunctionFacts,
  parsePolicy,
  type SecretFacts,
  type StackFacts,
  type TableFacts,
  type TopicFacts,
  type TrailFacts,
} from '../../core/index.js';
import type { AwsDeps } from './deps.js';
import { isUnreachable } from './failures.js';

/** Pages read at most from any paginated listing: a deployment has a few dozen resources. */
const MAX_PAGES = 20;

/** At most MAX_PAGES pages of a paginator: a listing that never ends cannot hold doctor. */
async function firstPages<P>(pages: AsyncIterable<P>): Promise<P[]> {
  const read: P[] = [];
  for await (const page of pages) {
    read.push(page);
    if (read.length === MAX_PAGES) break;
  }
  return read;
}

const errorName = (error: unknown) => (error instanceof Error ? error.name : '');

/** The AWS side doctor reads through: createDeps' clients, site list and failure wording. */
export type ProbeClients = Pick<AwsDeps, 'client' | 'siteList' | 'explain'>;

export class AwsDeploymentProbe implements DeploymentProbe {
  constructor(private readonly aws: ProbeClients) {}

  #cfn = () => this.aws.client(CloudFormationClient);
  #sm = () => this.aws.client(SecretsManagerClient);

  async region(): Promise<string> {
    return this.#cfn().config.region();
  }

  async stack(name: string): Promise<StackFacts | undefined> {
    const cfn = this.#cfn();
    const answer = await cfn.send(new DescribeStacksCommand({ StackName: name })).catch((error: unknown) => {
      // CloudFormation's answer for an unknown stack.
      if (errorName(error) === 'ValidationError' && /does not exist/.test(String(error))) return undefined;
      // The first call: an AWS side out of reach is said with what to check, like the other commands.
      if (!isUnreachable(error)) throw error;
      throw this.aws.explain(error, `Reading the stack ${name}`);
    });
    const stack = answer?.Stacks?.[0];
    if (stack === undefined) return undefined;
    const pages = await firstPages(paginateListStackResources({ client: cfn }, { StackName: name }));
    const resources = pages.flatMap((page) =>
      (page.StackResourceSummaries ?? []).map((r) => ({
        type: r.ResourceType ?? '',
        logicalId: r.LogicalResourceId ?? '',
        physicalId: r.PhysicalResourceId ?? '',
      })),
    );
    const outputs = Object.fromEntries(
      (stack.Outputs ?? []).flatMap((o) =>
        o.OutputKey && o.OutputValue ? [[o.OutputKey, o.OutputValue]] : [],
      ),
    );
    return { status: stack.StackStatus ?? 'UNKNOWN', outputs, resources };
  }

  async secret(secretId: string): Promise<SecretFacts> {
    const sm = this.#sm();
    const out = await sm.send(new DescribeSecretCommand({ SecretId: secretId }));
    const created = new Map<string, Date>();
    const listed = await sm.send(new ListSecretVersionIdsCommand({ SecretId: secretId, MaxResults: 100 }));
    for (const version of listed.Versions ?? []) {
      if (version.VersionId && version.CreatedDate) created.set(version.VersionId, version.CreatedDate);
    }
    const rules = out.RotationRules;
    const schedule =
      rules?.ScheduleExpression ??
      (rules?.AutomaticallyAfterDays === undefined
        ? undefined
        : `every ${rules.AutomaticallyAfterDays} days`);
    const dates = {
      lastRotatedAt: out.LastRotatedDate,
      lastChangedAt: out.LastChangedDate,
      deletedAt: out.DeletedDate,
    };
    return {
      arn: out.ARN ?? secretId,
      rotationEnabled: out.RotationEnabled === true,
      ...(out.RotationLambdaARN ? { rotationLambdaArn: out.RotationLambdaARN } : {}),
      ...(schedule === undefined ? {} : { schedule }),
      ...Object.fromEntries(Object.entries(dates).filter(([, date]) => date !== undefined)),
      versions: Object.entries(out.VersionIdsToStages ?? {}).map(([id, stages]) => {
        const createdAt = created.get(id);
        return { id, stages, ...(createdAt === undefined ? {} : { createdAt }) };
      }),
    };
  }

  async rotationFunction(functionArn: string): Promise<FunctionFacts> {
    const lambda = this.aws.client(LambdaClient);
    const config = await lambda.send(new GetFunctionConfigurationCommand({ FunctionName: functionArn }));
    const policy = await lambda
      .send(new GetPolicyCommand({ FunctionName: functionArn }))
      .then((answer) => parsePolicy(answer.Policy))
      .catch((error: unknown) => {
        // No resource policy at all: nobody but the account's own principals may invoke it.
        if (errorName(error) === 'ResourceNotFoundException') return undefined;
        throw error;
      });
    const statements = Array.isArray(policy?.Statement) ? policy.Statement : [policy?.Statement];
    const invokable = statements.some(
      (s) =>
        s?.Effect === 'Allow' &&
        typeof s.Principal === 'object' &&
        [s.Principal.Service].flat().includes('secretsmanager.amazonaws.com'),
    );
    return {
      ...(config.State ? { state: config.State } : {}),
      ...(config.LastUpdateStatus ? { lastUpdateStatus: config.LastUpdateStatus } : {}),
      invokableBySecretsManager: invokable,
    };
  }

  async topic(topicArn: string): Promise<TopicFacts> {
    const sns = this.aws.client(SNSClient);
    const attributes =
      (await sns.send(new GetTopicAttributesCommand({ TopicArn: topicArn }))).Attributes ?? {};
    const pages = await firstPages(paginateListSubscriptionsByTopic({ client: sns }, { TopicArn: topicArn }));
    const subscriptions = pages.flatMap((page) =>
      (page.Subscriptions ?? []).map((s) => ({
        protocol: s.Protocol ?? '?',
        confirmed: s.SubscriptionArn !== 'PendingConfirmation',
      })),
    );
    const policy = parsePolicy(attributes.Policy);
    const kmsKeyId = attributes.KmsMasterKeyId;
    return {
      ...(policy === undefined ? {} : { policy }),
      ...(kmsKeyId ? { kmsKeyId } : {}),
      subscriptions,
    };
  }

  async keyPolicy(keyId: string) {
    const kms = this.aws.client(KMSClient);
    return parsePolicy(
      (await kms.send(new GetKeyPolicyCommand({ KeyId: keyId, PolicyName: 'default' }))).Policy,
    );
  }

  async trails(): Promise<readonly TrailFacts[]> {
    const trail = this.aws.client(CloudTrailClient);
    const list = (await trail.send(new DescribeTrailsCommand({ includeShadowTrails: true }))).trailList ?? [];
    return Promise.all(
      list.map(async (t) => {
        const id = t.TrailARN ?? t.Name ?? '';
        const status = await trail.send(new GetTrailStatusCommand({ Name: id }));
        const selectors = await trail.send(new GetEventSelectorsCommand({ TrailName: id }));
        // A trail without selectors logs management events (CloudTrail's default).
        const none = !selectors.EventSelectors?.length && !selectors.AdvancedEventSelectors?.length;
        const basic = (selectors.EventSelectors ?? []).some(
          (s) => s.IncludeManagementEvents !== false && s.ReadWriteType !== 'ReadOnly',
        );
        const advanced = (selectors.AdvancedEventSelectors ?? []).some((s) =>
          s.FieldSelectors?.some((f) => f.Field === 'eventCategory' && f.Equals?.includes('Management')),
        );
        return {
          name: t.Name ?? id,
          ...(t.HomeRegion ? { homeRegion: t.HomeRegion } : {}),
          multiRegion: t.IsMultiRegionTrail === true,
          logging: status.IsLogging === true,
          managementEvents: none || basic || advanced,
        };
      }),
    );
  }

  async table(name: string): Promise<TableFacts> {
    const dynamodb = this.aws.client(DynamoDBClient);
    const table = (await dynamodb.send(new DescribeTableCommand({ TableName: name }))).Table;
    const keys = (schema: readonly KeySchemaElement[] | undefined) =>
      (schema ?? []).map((k) => ({ name: k.AttributeName ?? '', type: k.KeyType ?? '' }));
    return {
      keySchema: keys(table?.KeySchema),
      indexes: (table?.GlobalSecondaryIndexes ?? []).map((index) => ({
        name: index.IndexName ?? '',
        keySchema: keys(index.KeySchema),
        ...(index.Projection?.ProjectionType ? { projection: index.Projection.ProjectionType } : {}),
      })),
    };
  }

  async siteList(parameter: string) {
    // The function's own reader: the same parsing, the same errors (parameter and line, never a site).
    return this.aws.siteList(parameter).load();
  }

  async alarms(names: readonly string[]) {
    if (names.length === 0) return [];
    const cloudwatch = this.aws.client(CloudWatchClient);
    const out = await cloudwatch.send(new DescribeAlarmsCommand({ AlarmNames: [...names], MaxRecords: 100 }));
    return [...(out.MetricAlarms ?? []), ...(out.CompositeAlarms ?? [])].map((alarm) => ({
      name: alarm.AlarmName ?? '',
      state: alarm.StateValue ?? 'UNKNOWN',
    }));
  }

  /**
   * IAM's simulator, for the caller's identity (an assumed role is simulated as its role) against its
   * policies and the secret's resource policy. An approximation: SCPs, permission boundaries of sessions and
   * session policies are not in it. The caller may not be allowed to simulate: then "unknown".
   */
  async abortPermission(secretArn: string, actions: readonly string[]): Promise<AbortPermission> {
    const iam = this.aws.client(IAMClient);
    let caller = '';
    try {
      caller = (await this.aws.client(STSClient).send(new GetCallerIdentityCommand({}))).Arn ?? '';
      const assumed = /^arn:(aws[a-z-]*):sts::(\d{12}):assumed-role\/([^/]+)\//.exec(caller);
      // The session ARN drops the role's path; IAM names the role with it.
      const source = assumed
        ? ((await iam.send(new GetRoleCommand({ RoleName: assumed[3] }))).Role?.Arn ?? caller)
        : caller;
      const resourcePolicy = await this.#sm()
        .send(new GetResourcePolicyCommand({ SecretId: secretArn }))
        .then((answer) => answer.ResourcePolicy);
      const out = await iam.send(
        new SimulatePrincipalPolicyCommand({
          PolicySourceArn: source,
          ActionNames: [...actions],
          ResourceArns: [secretArn],
          ...(resourcePolicy ? { ResourcePolicy: resourcePolicy } : {}),
        }),
      );
      const denied = (out.EvaluationResults ?? [])
        .filter((result) => result.EvalDecision !== 'allowed')
        .map((result) => result.EvalActionName ?? '?');
      return { known: true, caller: source, denied };
    } catch (error) {
      // Not allowed to simulate, a role IAM does not know by that name, or no simulator at this endpoint.
      const why = error instanceof Error ? `${error.name}: ${error.message.split('\n')[0]}` : String(error);
      return { known: false, reason: `${caller || 'the caller'} could not be simulated (${why})` };
    }
  }
}
