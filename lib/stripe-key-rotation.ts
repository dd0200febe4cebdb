/**
 * The reusable construct: everything one Stripe key rotation needs, least privilege and observable.
 * The rotation function is the one in `lambda/` (see rotation-protocol.md); this file only deploys it.
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Duration, RemovalPolicy, SecretValue, Stack, Token, Validations } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sns from 'aws-cdk-lib/aws-sns';
import { EmailSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import { Construct } from 'constructs';
import { ConfigurationError } from '../lambda/errors.js';
import type { KeyMode } from '../lambda/keys.js';
import { LEDGER_TABLE_SCHEMA } from '../lambda/ledger-schema.js';
import { KeyRotationSchedule } from './schedule.js';
import { SiteListParameter } from './site-list.js';

const PROJECT_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

/** The namespace the function's EMF metrics are published under (Powertools Metrics). */
export const METRICS_NAMESPACE = 'StripeKeyRotator';

/** Room, beyond one site's timeout, for the AWS calls, the Stripe check and the function's deadline guard. */
export const TIMEOUT_MARGIN = Duration.seconds(60);

/** The staged key secret's content when nothing is staged (not a secret: the function treats it as empty). */
export const NOTHING_STAGED = 'none';

export const DEFAULT_SCHEDULE_EXPRESSION = 'cron(0 2 ? * TUE *)';

export interface StripeKeyRotationProps {
  /** Which Stripe keys this deployment rotates (`sk_live_` or `sk_test_`); a key of the other mode is refused. */
  readonly keyMode: KeyMode;

  /**
   * Names this deployment: the Powertools `service` (and metric dimension), secret and parameter names,
   * the dashboard. Letters, digits, `-` and `_`, starting with a letter, at most 64 characters.
   *
   * @default `stripe-key-rotator-<keyMode>`
   */
  readonly serviceName?: string;

  /**
   * The secret whose AWSCURRENT version is the Stripe key in service. Pass an existing one to adopt it,
   * preferably by complete ARN: one known by name only gets policies ending in `-??????`.
   *
   * @default - a new secret `<serviceName>/stripe-secret-key` holding a random placeholder
   */
  readonly rotatedSecret?: secretsmanager.ISecret;

  /**
   * The secret holding the sites' master API key (the `X-API-Key` header). Never a value in code.
   *
   * @default - a new secret `<serviceName>/master-api-key` holding a random placeholder to replace
   */
  readonly masterApiKeySecret?: secretsmanager.ISecret;

  /**
   * Where the list of sites lives.
   *
   * @default SiteListParameter.create() - a new String parameter `/<serviceName>/sites`
   */
  readonly siteList?: SiteListParameter;

  /**
   * Customer managed key for the secrets this construct creates. The function may use it only through
   * Secrets Manager and only for those secrets (`kms:EncryptionContext:SecretARN`).
   *
   * @default - the AWS managed key `aws/secretsmanager`
   */
  readonly encryptionKey?: kms.IKey;

  /**
   * When Secrets Manager starts a rotation. Between staged keys a scheduled rotation re-pushes the
   * current key (drift repair) unless `whenNothingStaged` is `fail`.
   *
   * @default KeyRotationSchedule.cron('cron(0 2 ? * TUE *)', Duration.hours(3)) - Tuesdays 02:00–05:00 UTC
   */
  readonly schedule?: KeyRotationSchedule;

  /**
   * What a rotation does when the staged key secret holds nothing new (`none` or blank):
   * `repropagate` pushes the current key again, `fail` refuses with guidance.
   *
   * @default 'repropagate'
   */
  readonly whenNothingStaged?: 'repropagate' | 'fail';

  /**
   * Sites pushed to at the same time (1–256).
   *
   * @default 10
   */
  readonly pushConcurrency?: number;

  /**
   * Timeout of one request to one site (100 ms – 120 s).
   *
   * @default Duration.seconds(10)
   */
  readonly siteTimeout?: Duration;

  /**
   * Attempts per site for transient failures (429, 5xx, timeouts, connection errors), 1–10.
   *
   * @default 3
   */
  readonly siteAttempts?: number;

  /**
   * Sites pushed to first, alone; the push stops at the first canary failure (0–100).
   *
   * @default 1
   */
  readonly canarySites?: number;

  /**
   * Whether a new key is checked read-only against Stripe (balance mode, same account) before any site.
   *
   * @default true
   */
  readonly stripeCheck?: boolean;

  /**
   * The function's timeout: one rotation step must reach every site within it. At most 15 minutes and
   * at least `siteTimeout` + 60 s.
   *
   * @default Duration.minutes(15)
   */
  readonly timeout?: Duration;

  /**
   * Function memory in MB (128–10240). Lambda allots CPU in proportion to memory and the push is a burst
   * of TLS handshakes, which are CPU-bound.
   *
   * @default 1024
   */
  readonly memorySize?: number;

  /**
   * How long the function's logs (per-site results, step outcomes) are kept.
   *
   * @default logs.RetentionDays.ONE_YEAR
   */
  readonly logRetention?: logs.RetentionDays;

  /**
   * Email addresses subscribed to the notifications topic (each must confirm the subscription).
   *
   * @default - no subscription; subscribe to the topic output yourself
   */
  readonly notificationEmails?: readonly string[];

  /**
   * What happens to the secrets, the site-list parameter and the log group this construct creates when
   * they leave the stack.
   *
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
}

/** Deploys the rotation of one Stripe secret key across a fleet of sites. */
export class StripeKeyRotation extends Construct {
  readonly serviceName: string;
  /** The secret being rotated; its AWSCURRENT version is the key in service. */
  readonly rotatedSecret: secretsmanager.ISecret;
  /** Where an operator stages the next key before starting a rotation. */
  readonly stagedKeySecret: secretsmanager.ISecret;
  readonly masterApiKeySecret: secretsmanager.ISecret;
  /** The `SITES_PARAMETER` value: a parameter name, or a path ending in `/`. */
  readonly sitesParameterName: string;
  /** The parameter this construct created, when it created one. */
  readonly sitesParameter?: ssm.StringParameter;
  /** The propagation ledger: per-rotation site-list snapshot, per-site results, what each site holds. */
  readonly ledgerTable: dynamodb.Table;
  readonly rotationFunction: NodejsFunction;
  readonly logGroup: logs.LogGroup;
  readonly rotationSchedule: secretsmanager.CfnRotationSchedule;
  readonly notificationsTopic: sns.Topic;
  readonly failureRule: events.Rule;
  readonly errorsAlarm: cloudwatch.Alarm;
  readonly dashboard: cloudwatch.Dashboard;

  constructor(scope: Construct, id: string, props: StripeKeyRotationProps) {
    super(scope, id);
    const settings = resolveSettings(this.node.path, props);
    const stack = Stack.of(this);
    this.serviceName = settings.serviceName;
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;

    const ownedSecret = (
      secretId: string,
      name: string,
      description: string,
      value: Pick<secretsmanager.SecretProps, 'generateSecretString' | 'secretStringValue'>,
    ) =>
      new secretsmanager.Secret(this, secretId, {
        secretName: `${settings.serviceName}/${name}`,
        description,
        encryptionKey: props.encryptionKey,
        removalPolicy,
        ...value,
      });
    // A random alphanumeric placeholder is never a valid sk_ key: the rotation refuses to start from it.
    // CloudFormation rewrites a secret's value (and the parameter's) when these properties change, so
    // they depend only on keyMode and serviceName, which a deployment in service never changes.
    const placeholder = { generateSecretString: { passwordLength: 48, excludePunctuation: true } };

    this.rotatedSecret =
      props.rotatedSecret ??
      ownedSecret(
        'RotatedSecret',
        'stripe-secret-key',
        `Stripe ${props.keyMode} secret key in service (AWSCURRENT), rotated by ${settings.serviceName}. ` +
          'To change it, stage the next key in the staged key secret and rotate this one; never label AWSPENDING here.',
        placeholder,
      );
    this.stagedKeySecret = ownedSecret(
      'StagedKeySecret',
      'staged-stripe-secret-key',
      `Next Stripe ${props.keyMode} secret key for ${settings.serviceName}: write the new sk_${props.keyMode}_ key ` +
        `here, then "Rotate secret immediately" on ${settings.serviceName}/stripe-secret-key. "${NOTHING_STAGED}" = nothing staged.`,
      { secretStringValue: SecretValue.unsafePlainText(NOTHING_STAGED) },
    );
    this.masterApiKeySecret =
      props.masterApiKeySecret ??
      ownedSecret(
        'MasterApiKeySecret',
        'master-api-key',
        `Master API key (X-API-Key) the template sites of ${settings.serviceName} accept. Replace the placeholder.`,
        placeholder,
      );

    Validations.of(this.stagedKeySecret).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason:
        'Holds the next Stripe key, which only a person can create (rolling it in the Stripe Dashboard); ' +
        'nothing could rotate it automatically. The key it stages is rotated in through the rotated secret.',
    });
    if (props.masterApiKeySecret === undefined) {
      Validations.of(this.masterApiKeySecret).acknowledge({
        id: 'AwsSolutions-SMG4',
        reason:
          "Must equal every template site's TEMPLATE_MASTER_API_KEY and the sites offer no endpoint to change " +
          'it: an automatic rotation would lock the function out of the fleet. Changed by operators with the sites.',
      });
    }

    const siteList = (props.siteList ?? SiteListParameter.create()).choice;
    if (siteList.kind === 'new') {
      this.sitesParameterName = siteList.parameterName ?? `/${settings.serviceName}/sites`;
      this.sitesParameter = new ssm.StringParameter(this, 'SitesParameter', {
        parameterName: this.sitesParameterName,
        description: `Sites receiving the Stripe ${props.keyMode} key from ${settings.serviceName}: one https URL per line.`,
        stringValue: '# one https URL per line; lines starting with # are ignored',
        tier: ssm.ParameterTier.STANDARD,
      });
      this.sitesParameter.applyRemovalPolicy(removalPolicy);
    } else {
      this.sitesParameterName = siteList.parameter;
    }

    // Key schema shared with the function's adapter (lambda/ledger-schema.ts), so the two cannot drift apart.
    this.ledgerTable = new dynamodb.Table(this, 'LedgerTable', {
      partitionKey: { name: LEDGER_TABLE_SCHEMA.partitionKey, type: dynamodb.AttributeType.STRING },
      sortKey: { name: LEDGER_TABLE_SCHEMA.sortKey, type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      encryption:
        props.encryptionKey === undefined
          ? dynamodb.TableEncryption.AWS_MANAGED
          : dynamodb.TableEncryption.CUSTOMER_MANAGED,
      encryptionKey: props.encryptionKey,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      timeToLiveAttribute: LEDGER_TABLE_SCHEMA.timeToLiveAttribute,
      removalPolicy,
    });
    this.ledgerTable.addGlobalSecondaryIndex({
      indexName: LEDGER_TABLE_SCHEMA.historyIndex.name,
      partitionKey: {
        name: LEDGER_TABLE_SCHEMA.historyIndex.partitionKey,
        type: dynamodb.AttributeType.STRING,
      },
      sortKey: { name: LEDGER_TABLE_SCHEMA.historyIndex.sortKey, type: dynamodb.AttributeType.STRING },
      projectionType: dynamodb.ProjectionType.ALL,
    });

    this.logGroup = new logs.LogGroup(this, 'LogGroup', {
      retention: props.logRetention ?? logs.RetentionDays.ONE_YEAR,
      removalPolicy,
    });

    const role = new iam.Role(this, 'ServiceRole', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `Rotation function of ${settings.serviceName}: its own secret versions, read-only elsewhere.`,
    });

    this.rotationFunction = new NodejsFunction(this, 'Function', {
      description: `Rotates the Stripe ${props.keyMode} key of ${settings.serviceName} and pushes it to every site.`,
      entry: join(PROJECT_ROOT, 'lambda', 'handler.ts'),
      handler: 'handler',
      projectRoot: PROJECT_ROOT,
      depsLockFilePath: join(PROJECT_ROOT, 'package-lock.json'),
      runtime: lambda.Runtime.NODEJS_24_X,
      architecture: lambda.Architecture.ARM_64,
      memorySize: settings.memorySize,
      timeout: settings.timeout,
      role,
      logGroup: this.logGroup,
      environment: {
        STAGED_SECRET_ARN: this.stagedKeySecret.secretArn,
        MASTER_API_KEY_SECRET_ARN: this.masterApiKeySecret.secretArn,
        SITES_PARAMETER: this.sitesParameterName,
        LEDGER_TABLE: this.ledgerTable.tableName,
        KEY_MODE: props.keyMode,
        WHEN_NOTHING_STAGED: settings.whenNothingStaged,
        PUSH_CONCURRENCY: String(settings.pushConcurrency),
        SITE_TIMEOUT_MS: String(settings.siteTimeoutMs),
        SITE_ATTEMPTS: String(settings.siteAttempts),
        CANARY_SITES: String(settings.canarySites),
        STRIPE_CHECK: settings.stripeCheck ? 'on' : 'off',
        POWERTOOLS_SERVICE_NAME: settings.serviceName,
        POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
        POWERTOOLS_LOG_LEVEL: 'INFO',
        // Minified bundle: without this, stack traces in the logs point into one long line.
        NODE_OPTIONS: '--enable-source-maps',
      },
      bundling: {
        // Bundle everything, SDK included: our pinned SDK versions, not whatever the runtime ships.
        externalModules: [],
        minify: true,
        sourceMap: true,
        sourcesContent: false,
        format: OutputFormat.CJS,
        // ESM builds first: esbuild can tree-shake them (the SDK's CJS builds it cannot). 1.41 -> 1.06 MB and a
        // faster cold start (bench/results.md); bench/cold-start.ts and the bundled-handler test use the same.
        mainFields: ['module', 'main'],
        // Node 20 so the same bundle runs on the development machine for benchmarks.
        target: 'node20',
        forceDockerBundling: false,
      },
    });

    this.grantLeastPrivilege(role, siteList);

    this.rotationFunction.addPermission('InvokeBySecretsManager', {
      principal: new iam.ServicePrincipal('secretsmanager.amazonaws.com'),
      action: 'lambda:InvokeFunction',
      // Confused-deputy guard the L2 rotation schedule omits (aws/aws-cdk#28406).
      sourceAccount: stack.account,
    });

    // L1 rather than `addRotationSchedule`: the L2 has no cron window, grants GetRandomPassword on `*`
    // and KMS use not tied to the secret; every permission this function holds is written out above instead.
    this.rotationSchedule = new secretsmanager.CfnRotationSchedule(this, 'RotationSchedule', {
      secretId: this.rotatedSecret.secretArn,
      rotationLambdaArn: this.rotationFunction.functionArn,
      rotationRules: settings.schedule.toRotationRules(),
      // Otherwise every deployment would start a rotation (and push to the whole fleet).
      rotateImmediatelyOnUpdate: false,
    });
    // Secrets Manager invokes the function (testSecret) as soon as the schedule exists.
    this.rotationSchedule.node.addDependency(
      this.rotationFunction.permissionsNode.findChild('InvokeBySecretsManager'),
    );

    const observability = this.buildNotifications(settings, props.notificationEmails ?? [], removalPolicy);
    this.notificationsTopic = observability.topic;
    this.failureRule = observability.rule;
    this.errorsAlarm = observability.alarm;
    this.dashboard = this.buildDashboard(settings);
  }

  private grantLeastPrivilege(role: iam.Role, siteList: SiteListParameter['choice']): void {
    const stack = Stack.of(this);
    const rotatedArn = fullSecretArn(this.rotatedSecret);
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'RotateOwnSecretVersions',
        actions: [
          'secretsmanager:DescribeSecret',
          'secretsmanager:GetSecretValue',
          'secretsmanager:PutSecretValue',
          'secretsmanager:UpdateSecretVersionStage',
        ],
        resources: [rotatedArn],
      }),
    );
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'ReadStagedAndMasterKeys',
        // DescribeSecret tells "exists but holds no value" from "does not exist" in the error message.
        actions: ['secretsmanager:DescribeSecret', 'secretsmanager:GetSecretValue'],
        resources: [fullSecretArn(this.stagedKeySecret), fullSecretArn(this.masterApiKeySecret)],
      }),
    );
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'WriteOwnLogs',
        actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        resources: [this.logGroup.logGroupArn],
      }),
    );

    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'RecordLedger',
        // Exactly the calls of lambda/aws/dynamodb-ledger.ts and its batch-writer.ts: no Scan, no DeleteItem.
        actions: [
          'dynamodb:GetItem',
          'dynamodb:PutItem',
          'dynamodb:UpdateItem',
          'dynamodb:BatchWriteItem',
          'dynamodb:Query',
        ],
        resources: [this.ledgerTable.tableArn],
      }),
    );
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'ReadLedgerHistory',
        actions: ['dynamodb:Query'],
        resources: [`${this.ledgerTable.tableArn}/index/${LEDGER_TABLE_SCHEMA.historyIndex.name}`],
      }),
    );
    if (this.ledgerTable.encryptionKey !== undefined) {
      role.addToPrincipalPolicy(
        new iam.PolicyStatement({
          sid: 'UseLedgerKey',
          actions: ['kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey', 'kms:DescribeKey'],
          resources: [this.ledgerTable.encryptionKey.keyArn],
          conditions: { StringEquals: { 'kms:ViaService': `dynamodb.${stack.region}.amazonaws.com` } },
        }),
      );
    }

    const parameterArn = (name: string) =>
      stack.formatArn({
        service: 'ssm',
        resource: 'parameter',
        resourceName: name.replace(/^\//, ''),
      });
    if (siteList.kind === 'path') {
      // GetParametersByPath is authorized against the requested path only; both spellings of it.
      const path = siteList.parameter;
      role.addToPrincipalPolicy(
        new iam.PolicyStatement({
          sid: 'ReadSiteListPath',
          actions: ['ssm:GetParametersByPath'],
          resources: [parameterArn(path.replace(/\/$/, '')), parameterArn(path)],
        }),
      );
    } else {
      role.addToPrincipalPolicy(
        new iam.PolicyStatement({
          sid: 'ReadSiteList',
          actions: ['ssm:GetParameter'],
          resources: [parameterArn(this.sitesParameterName)],
        }),
      );
    }
    if (siteList.kind !== 'new' && siteList.decryptionKey !== undefined) {
      const via = { 'kms:ViaService': `ssm.${stack.region}.amazonaws.com` };
      const parameter = parameterArn(siteList.parameter);
      role.addToPrincipalPolicy(
        new iam.PolicyStatement({
          sid: 'DecryptSiteList',
          actions: ['kms:Decrypt'],
          resources: [siteList.decryptionKey.keyArn],
          conditions:
            siteList.kind === 'path'
              ? { StringEquals: via, StringLike: { 'kms:EncryptionContext:PARAMETER_ARN': `${parameter}*` } }
              : { StringEquals: { ...via, 'kms:EncryptionContext:PARAMETER_ARN': parameter } },
        }),
      );
    }

    // Customer managed keys of the secrets: Decrypt to read, GenerateDataKey to write the pending version,
    // each only via Secrets Manager and only for the secret it protects.
    const byKey = new Map<kms.IKey, { read: string[]; write: string[] }>();
    const use = (secret: secretsmanager.ISecret, write: boolean) => {
      if (secret.encryptionKey === undefined) return;
      const entry = byKey.get(secret.encryptionKey) ?? { read: [], write: [] };
      entry.read.push(fullSecretArn(secret));
      if (write) entry.write.push(fullSecretArn(secret));
      byKey.set(secret.encryptionKey, entry);
    };
    use(this.rotatedSecret, true);
    use(this.stagedKeySecret, false);
    use(this.masterApiKeySecret, false);
    [...byKey.entries()].forEach(([key, { read, write }], index) => {
      const suffix = byKey.size > 1 ? String(index + 1) : '';
      const via = { 'kms:ViaService': `secretsmanager.${stack.region}.amazonaws.com` };
      const forSecrets = (arns: string[]) => {
        const secretArn = { 'kms:EncryptionContext:SecretARN': arns.length === 1 ? arns[0] : arns };
        return arns.some((arn) => arn.endsWith('-??????'))
          ? { StringEquals: via, StringLike: secretArn }
          : { StringEquals: { ...via, ...secretArn } };
      };
      role.addToPrincipalPolicy(
        new iam.PolicyStatement({
          sid: `DecryptSecrets${suffix}`,
          actions: ['kms:Decrypt'],
          resources: [key.keyArn],
          conditions: forSecrets(read),
        }),
      );
      if (write.length > 0) {
        role.addToPrincipalPolicy(
          new iam.PolicyStatement({
            sid: `EncryptRotatedSecret${suffix}`,
            actions: ['kms:GenerateDataKey'],
            resources: [key.keyArn],
            conditions: forSecrets(write),
          }),
        );
      }
    });
  }

  private buildNotifications(settings: Settings, emails: readonly string[], removalPolicy: RemovalPolicy) {
    const stack = Stack.of(this);
    const publishers = [
      new iam.ServicePrincipal('events.amazonaws.com'),
      new iam.ServicePrincipal('cloudwatch.amazonaws.com'),
    ];
    // SNS's AWS managed key cannot be used by EventBridge or CloudWatch alarms: the topic needs its own key.
    const topicKey = new kms.Key(this, 'NotificationsKey', {
      description: `Encrypts the rotation notifications topic of ${settings.serviceName}.`,
      enableKeyRotation: true,
      removalPolicy,
    });
    topicKey.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'LetEventBridgeAndAlarmsPublish',
        principals: publishers,
        actions: ['kms:Decrypt', 'kms:GenerateDataKey'],
        resources: ['*'],
      }),
    );
    const topic = new sns.Topic(this, 'NotificationsTopic', {
      displayName: `Stripe key rotation (${settings.serviceName})`,
      masterKey: topicKey,
      enforceSSL: true,
    });
    for (const email of emails) topic.addSubscription(new EmailSubscription(email));

    const secretArn = fullSecretArn(this.rotatedSecret);
    const rule = new events.Rule(this, 'RotationFailureRule', {
      description: `Failed, abandoned or failed-test rotations of the Stripe key secret of ${settings.serviceName}.`,
      eventPattern: {
        source: ['aws.secretsmanager'],
        detailType: ['AWS Service Event via CloudTrail'],
        detail: {
          eventName: ['RotationFailed', 'RotationAbandoned', 'TestRotationFailed'],
          additionalEventData: {
            // An imported secret known by name only: match its full ARN by prefix.
            SecretId: secretArn.endsWith('-??????')
              ? [{ prefix: this.rotatedSecret.secretArn }]
              : [this.rotatedSecret.secretArn],
          },
        },
      },
    });
    const message = events.RuleTargetInput.fromText(
      `Stripe key rotation ${events.EventField.fromPath('$.detail.eventName')} for ` +
        `${events.EventField.fromPath('$.detail.additionalEventData.SecretId')} at ${events.EventField.time}. ` +
        'AWSCURRENT moves only after every site confirmed: unless the ledger shows this rotation finished, the ' +
        'key in service is unchanged. Read the failing step and the per-site results in log ' +
        `group ${this.logGroup.logGroupName} and on dashboard ${settings.serviceName}.`,
    );
    rule.addTarget({ bind: () => ({ arn: topic.topicArn, input: message, targetResource: topic }) });

    const alarm = this.rotationFunction
      .metricErrors({ period: Duration.minutes(5), statistic: cloudwatch.Stats.SUM })
      .createAlarm(this, 'ErrorsAlarm', {
        alarmDescription:
          `A rotation step of ${settings.serviceName} failed (Lambda Errors). AWSCURRENT is unchanged; ` +
          'Secrets Manager retries the rotation. See the function log group for the step and the sites.',
        threshold: 1,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
    alarm.addAlarmAction(new SnsAction(topic));

    // Written out rather than `grantPublish`, so each publisher is pinned to its source.
    topic.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'FailureRulePublishes',
        principals: [new iam.ServicePrincipal('events.amazonaws.com')],
        actions: ['sns:Publish'],
        resources: [topic.topicArn],
        conditions: { ArnEquals: { 'aws:SourceArn': rule.ruleArn } },
      }),
    );
    topic.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'ErrorsAlarmPublishes',
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['sns:Publish'],
        resources: [topic.topicArn],
        conditions: {
          ArnEquals: { 'aws:SourceArn': alarm.alarmArn },
          StringEquals: { 'aws:SourceAccount': stack.account },
        },
      }),
    );
    return { topic, rule, alarm };
  }

  private buildDashboard(settings: Settings): cloudwatch.Dashboard {
    const metric = (metricName: string, statistic: string, label: string, period = Duration.hours(1)) =>
      new cloudwatch.Metric({
        namespace: METRICS_NAMESPACE,
        metricName,
        dimensionsMap: { service: settings.serviceName },
        statistic,
        label,
        period,
      });
    const fiveMinutes = Duration.minutes(5);
    const dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
      dashboardName: settings.serviceName,
      defaultInterval: Duration.days(14),
    });
    dashboard.addWidgets(
      new cloudwatch.TextWidget({
        markdown:
          `# Stripe key rotation — ${settings.serviceName}\n` +
          'A rotation succeeds only when every site confirmed the key. Site counts are emitted at the end ' +
          'of each setSecret step; a failed step lists the failing sites in the function log.',
        width: 24,
        height: 2,
      }),
    );
    dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'Rotation outcomes',
        left: [
          metric('RotationSucceeded', cloudwatch.Stats.SUM, 'Rotations succeeded'),
          metric('RotationStepFailed', cloudwatch.Stats.SUM, 'Steps failed'),
          this.rotationFunction.metricErrors({ statistic: cloudwatch.Stats.SUM, period: Duration.hours(1) }),
        ],
        view: cloudwatch.GraphWidgetView.BAR,
        width: 12,
      }),
      new cloudwatch.GraphWidget({
        title: 'Sites per rotation (end of setSecret)',
        left: [
          metric('SitesConfirmed', cloudwatch.Stats.MAXIMUM, 'Confirmed', fiveMinutes),
          metric('SitesFailed', cloudwatch.Stats.MAXIMUM, 'Failed', fiveMinutes),
          metric('SitesNotAttempted', cloudwatch.Stats.MAXIMUM, 'Not attempted', fiveMinutes),
        ],
        view: cloudwatch.GraphWidgetView.BAR,
        width: 12,
      }),
    );
    dashboard.addWidgets(
      new cloudwatch.SingleValueWidget({
        title: 'Last push (sites)',
        metrics: [
          metric('SitesConfirmed', cloudwatch.Stats.MAXIMUM, 'Confirmed', fiveMinutes),
          metric('SitesFailed', cloudwatch.Stats.MAXIMUM, 'Failed', fiveMinutes),
          metric('SitesNotAttempted', cloudwatch.Stats.MAXIMUM, 'Not attempted', fiveMinutes),
        ],
        setPeriodToTimeRange: false,
        width: 8,
      }),
      new cloudwatch.GraphWidget({
        title: 'Push duration vs. function timeout',
        left: [
          metric('PushDuration', cloudwatch.Stats.MAXIMUM, 'Push duration (max)', fiveMinutes),
          this.rotationFunction.metricDuration({ statistic: cloudwatch.Stats.MAXIMUM, period: fiveMinutes }),
        ],
        leftAnnotations: [
          {
            value: settings.timeout.toMilliseconds(),
            label: 'Function timeout',
            color: cloudwatch.Color.RED,
          },
        ],
        width: 10,
      }),
      new cloudwatch.AlarmStatusWidget({ title: 'Alarms', alarms: [this.errorsAlarm], width: 6 }),
    );
    return dashboard;
  }
}

/** The ARN a policy may name: the complete ARN, or the partial one plus the 6-character suffix. */
function fullSecretArn(secret: secretsmanager.ISecret): string {
  return secret.secretFullArn ?? `${secret.secretArn}-??????`;
}

interface Settings {
  readonly serviceName: string;
  readonly whenNothingStaged: 'repropagate' | 'fail';
  readonly pushConcurrency: number;
  readonly siteTimeoutMs: number;
  readonly siteAttempts: number;
  readonly canarySites: number;
  readonly stripeCheck: boolean;
  readonly timeout: Duration;
  readonly memorySize: number;
  readonly schedule: KeyRotationSchedule;
}

/** Applies defaults and validates every prop at once; each problem names the prop and its value. */
function resolveSettings(path: string, props: StripeKeyRotationProps): Settings {
  const problems: string[] = [];
  const integer = (name: string, value: number | undefined, fallback: number, min: number, max: number) => {
    const resolved = value ?? fallback;
    if (!Number.isInteger(resolved) || resolved < min || resolved > max) {
      problems.push(`${name}=${resolved} must be a whole number from ${min} to ${max}`);
    }
    return resolved;
  };

  if (props.keyMode !== 'live' && props.keyMode !== 'test') {
    problems.push(`keyMode=${JSON.stringify(props.keyMode)} must be 'live' or 'test'`);
  }
  const serviceName = props.serviceName ?? `stripe-key-rotator-${props.keyMode}`;
  if (!/^[A-Za-z][A-Za-z0-9_-]{0,63}$/.test(serviceName)) {
    problems.push(
      `serviceName=${JSON.stringify(serviceName)} must start with a letter and hold only letters, digits, - and _ (at most 64)`,
    );
  }
  const whenNothingStaged = props.whenNothingStaged ?? 'repropagate';
  if (whenNothingStaged !== 'repropagate' && whenNothingStaged !== 'fail') {
    problems.push(`whenNothingStaged=${JSON.stringify(whenNothingStaged)} must be 'repropagate' or 'fail'`);
  }
  const pushConcurrency = integer('pushConcurrency', props.pushConcurrency, 10, 1, 256);
  const siteAttempts = integer('siteAttempts', props.siteAttempts, 3, 1, 10);
  const canarySites = integer('canarySites', props.canarySites, 1, 0, 100);
  const memorySize = integer('memorySize', props.memorySize, 1024, 128, 10_240);

  const siteTimeout = props.siteTimeout ?? Duration.seconds(10);
  const siteTimeoutMs = siteTimeout.toMilliseconds();
  if (siteTimeoutMs < 100 || siteTimeoutMs > 120_000) {
    problems.push(`siteTimeout=${siteTimeout.toHumanString()} must be between 100 ms and 120 s`);
  }
  const timeout = props.timeout ?? Duration.minutes(15);
  const timeoutMs = timeout.toMilliseconds();
  if (timeoutMs > Duration.minutes(15).toMilliseconds()) {
    problems.push(`timeout=${timeout.toHumanString()} exceeds the 15 minutes a Lambda invocation may run`);
  } else if (timeoutMs < siteTimeoutMs + TIMEOUT_MARGIN.toMilliseconds()) {
    problems.push(
      `timeout=${timeout.toHumanString()} must be at least siteTimeout (${siteTimeout.toHumanString()}) + ` +
        `${TIMEOUT_MARGIN.toHumanString()} for the AWS calls and the Stripe check`,
    );
  } else if (timeoutMs % 1000 !== 0) {
    problems.push(`timeout=${timeout.toHumanString()} must be whole seconds`);
  }

  if (props.logRetention !== undefined && !Object.values(logs.RetentionDays).includes(props.logRetention)) {
    problems.push(
      `logRetention=${props.logRetention} is not one of the retention periods CloudWatch Logs offers`,
    );
  }
  for (const email of props.notificationEmails ?? []) {
    if (Token.isUnresolved(email) || !/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(email)) {
      problems.push(`notificationEmails: ${JSON.stringify(email)} is not an email address`);
    }
  }

  if (problems.length > 0) {
    throw new ConfigurationError(`StripeKeyRotation ${path}: invalid props`, { problems });
  }
  return {
    serviceName,
    whenNothingStaged,
    pushConcurrency,
    siteTimeoutMs,
    siteAttempts,
    canarySites,
    stripeCheck: props.stripeCheck ?? true,
    timeout,
    memorySize,
    schedule: props.schedule ?? KeyRotationSchedule.cron(DEFAULT_SCHEDULE_EXPRESSION, Duration.hours(3)),
  };
}
