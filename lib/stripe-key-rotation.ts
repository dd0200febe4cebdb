/**
 * The reusable construct: everything one Stripe key rotation needs, least privilege and observable.
 * The rotation function is the one in `lambda/` (see docs/rotation-protocol.md); this file only deploys it:
 * props in props.ts, notifications and dashboard in rotation-monitoring.ts.
 */
import { Annotations, type RemovalPolicy, SecretValue, Stack, Validations } from 'aws-cdk-lib';
import type * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type * as sns from 'aws-cdk-lib/aws-sns';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import { Construct } from 'constructs';
import {
  configEnvironment,
  KEY_IN_TEXT,
  LEDGER_TABLE_SCHEMA,
  NOTHING_STAGED,
  POWERTOOLS_SETTINGS,
  SETTINGS,
} from '../core/index.js';
import { handlerAsset } from './handler-asset.js';
import type { StripeKeyRotationProps } from './props.js';
import { resolveProps } from './resolve-props.js';
import {
  operatorArnProblem,
  principalArnOf,
  RotatedSecretGuard,
  StagedSecretGuard,
} from './rotated-secret-policy.js';
import { RotationGrants } from './rotation-grants.js';
import { rotationMetric } from './rotation-metrics.js';
import { RotationMonitoring, rotationFailurePattern } from './rotation-monitoring.js';
import { grantRotationPermissions } from './rotation-permissions.js';
import { RotationWatchdog } from './rotation-watchdog.js';
import { SiteListParameter } from './site-list.js';

/** Deploys the rotation of one Stripe secret key across a fleet of sites. */
export class StripeKeyRotation extends Construct {
  /** The deployment's name: the metrics' `service` dimension, the prefix of the secret names, the dashboard. */
  readonly serviceName: string;
  /** The secret being rotated; its AWSCURRENT version is the key in service. */
  readonly rotatedSecret: secretsmanager.ISecret;
  /** Where an operator stages the next key before starting a rotation. */
  readonly stagedKeySecret: secretsmanager.ISecret;
  /** The sites' master API key, sent as `X-API-Key` with every push. */
  readonly masterApiKeySecret: secretsmanager.ISecret;
  /** The `SITES_PARAMETER` value: a parameter name, or a path ending in `/`. */
  readonly sitesParameterName: string;
  /** The parameter this construct created, when it created one. */
  readonly sitesParameter?: ssm.StringParameter;
  /** The propagation ledger: per-rotation site-list snapshot, per-site results, what each site holds. */
  readonly ledgerTable: dynamodb.ITable;
  /** The rotation function Secrets Manager invokes for each of the four steps. */
  readonly rotationFunction: lambda.Function;
  /** The function's logs: one structured line per step and per site result, never a secret. */
  readonly logGroup: logs.LogGroup;
  /**
   * The rotation schedule of the rotated secret. The L1 resource, not aws-cdk-lib's `RotationSchedule`: that
   * L2 offers no schedule window and would grant the function `GetRandomPassword` on `*` and KMS use not
   * tied to the secret (every permission of the function is in rotation-permissions.ts).
   */
  readonly rotationSchedule: secretsmanager.CfnRotationSchedule;
  /**
   * Where failed, abandoned and failed-test rotations and every alarm in `alarms` are announced: the
   * `notificationsTopic` prop, or the topic the construct created.
   */
  readonly notificationsTopic: sns.ITopic;
  /** The EventBridge rule that turns Secrets Manager's rotation failure events into notifications. */
  readonly failureRule: events.Rule;
  /**
   * The EventBridge rule that announces, on the notifications topic, each change to the rotated secret's
   * value, labels or resource policy made by anyone but the rotation function (CloudTrail management events:
   * the account needs a trail in this region).
   */
  readonly tamperRule: events.Rule;
  /**
   * Where the alarms on the notification path itself (rule delivery failures, dead letters) notify: a topic
   * and key of their own, so that a broken notifications topic or key cannot silence them. Subscribed with
   * `notificationEmails`; subscribe a pager here too.
   */
  readonly notificationPathTopic: sns.ITopic;
  /** Alarm on the function's errors (any failed step); on the dashboard, not notified (the failure rule is). */
  readonly errorsAlarm: cloudwatch.Alarm;
  /**
   * Every alarm this construct creates: function errors, the notification path (rule delivery failures,
   * dead letters), the function's limits (duration near the timeout, throttles) and staleness (overdue,
   * stuck AWSPENDING, rotation disabled). Add your own actions to them, e.g. a paging system.
   */
  readonly alarms: readonly cloudwatch.IAlarm[];
  /** Rotation outcomes, site counts and push duration against the timeout. */
  readonly dashboard: cloudwatch.Dashboard;
  /**
   * A managed policy holding exactly what the operator CLI's `status`, `plan`, `rotate` and `abort` need
   * (the statements of `grantOperate`): attach it to the operators' role or group.
   */
  readonly operatorPolicy: iam.ManagedPolicy;
  readonly #grants: RotationGrants;
  /** The rotated secret's write and rotate guards; undefined for an adopted rotated secret. */
  readonly #guard?: RotatedSecretGuard;
  /** The staged secret's read guard; undefined for an adopted staged secret. */
  readonly #stagedGuard?: StagedSecretGuard;
  /** Staleness detection: rotation disabled, overdue, or stuck with an old AWSPENDING. */
  readonly watchdog: RotationWatchdog;

  constructor(scope: Construct, id: string, props: StripeKeyRotationProps) {
    super(scope, id);
    const settings = resolveProps(this.node.path, props, Stack.of(this));
    const stack = Stack.of(this);
    this.serviceName = settings.serviceName;
    const removalPolicy = settings.removalPolicy;

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
    this.stagedKeySecret =
      props.stagedKeySecret ??
      ownedSecret(
        'StagedKeySecret',
        'staged-stripe-secret-key',
        `Next Stripe ${props.keyMode} secret key for ${settings.serviceName}: write the new sk_${props.keyMode}_ key ` +
          `here, then "Rotate secret immediately" on ${settings.serviceName}/stripe-secret-key. "${NOTHING_STAGED.placeholder}" = nothing staged.`,
        { secretStringValue: SecretValue.unsafePlainText(NOTHING_STAGED.placeholder) },
      );
    this.masterApiKeySecret =
      props.masterApiKeySecret ??
      ownedSecret(
        'MasterApiKeySecret',
        'master-api-key',
        `Master API key (X-API-Key) the template sites of ${settings.serviceName} accept. Replace the placeholder.`,
        placeholder,
      );

    // What aws-cdk-lib's RotationSchedule adds and the L1 path would drop: the account root may not delete
    // the secrets this construct owns (an adopted secret's policy belongs to its owner).
    for (const secret of [this.rotatedSecret, this.stagedKeySecret, this.masterApiKeySecret]) {
      if (secret instanceof secretsmanager.Secret) secret.denyAccountRootDelete();
    }

    if (props.stagedKeySecret === undefined) {
      Validations.of(this.stagedKeySecret).acknowledge({
        id: 'AwsSolutions-SMG4',
        reason:
          'Holds the next Stripe key, which only a person can create (rolling it in the Stripe Dashboard); ' +
          'nothing could rotate it automatically. The key it stages is rotated in through the rotated secret.',
      });
    }
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

    this.ledgerTable = props.ledgerTable ?? this.createLedgerTable(props.encryptionKey, removalPolicy);

    this.logGroup = new logs.LogGroup(this, 'LogGroup', {
      retention: settings.logRetention,
      removalPolicy,
      // Defence in depth: the function never logs a key, but if a line ever held one, readers see it masked.
      dataProtectionPolicy: new logs.DataProtectionPolicy({
        name: `${settings.serviceName}-stripe-keys`,
        description: 'Masks Stripe secret and restricted keys in the rotation logs.',
        identifiers: [new logs.CustomDataIdentifier('StripeKey', KEY_IN_TEXT)],
      }),
    });

    const role =
      props.role ??
      new iam.Role(this, 'ServiceRole', {
        assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
        description: `Rotation function of ${settings.serviceName}: its own secret versions, read-only elsewhere.`,
      });

    this.rotationFunction = new lambda.Function(this, 'Function', {
      description: `Rotates the Stripe ${props.keyMode} key of ${settings.serviceName} and pushes it to every site.`,
      // Bundled ahead of synthesis (scripts/build.ts), so the package ships it and no consumer bundles.
      code: lambda.Code.fromAsset(handlerAsset('rotation-handler')),
      handler: 'index.handler',
      runtime: lambda.Runtime.NODEJS_24_X,
      architecture: lambda.Architecture.ARM_64,
      memorySize: settings.memorySize,
      timeout: settings.timeout,
      role,
      logGroup: this.logGroup,
      environment: {
        // The function's own loader reads these back (core/config.ts); test/infra proves it for every option.
        ...configEnvironment({
          stagedSecretId: this.stagedKeySecret.secretArn,
          masterApiKeySecretId: this.masterApiKeySecret.secretArn,
          sitesParameter: this.sitesParameterName,
          ledgerTable: this.ledgerTable.tableName,
          keyMode: props.keyMode,
          whenNothingStaged: settings.whenNothingStaged,
          pushConcurrency: settings.pushConcurrency,
          siteTimeoutMs: settings.siteTimeoutMs,
          siteAttempts: settings.siteAttempts,
          canarySites: settings.canarySites,
          stripeCheck: settings.stripeCheck,
        }),
        [POWERTOOLS_SETTINGS.serviceName.variable]: settings.serviceName,
        [POWERTOOLS_SETTINGS.metricsNamespace.variable]: POWERTOOLS_SETTINGS.metricsNamespace.default,
        [POWERTOOLS_SETTINGS.logLevel.variable]: POWERTOOLS_SETTINGS.logLevel.default,
        // No NODE_OPTIONS=--enable-source-maps: it parses the 1 MB map at every cold start. The handler maps
        // the stacks of the errors it logs itself, lazily (lambda/stack-map.ts).
      },
    });

    Validations.of(this.rotationFunction).acknowledge(
      {
        id: 'Serverless-LambdaDLQ',
        reason:
          'Secrets Manager invokes the rotation function synchronously, step by step, and retries a failed ' +
          'rotation itself; a dead-letter queue only receives failed asynchronous invocations, which never happen.',
      },
      {
        id: 'Serverless-LambdaTracing',
        reason:
          'Every step and every site result is a structured log line with step, secret ARN, version id, site, ' +
          'status, attempt and duration, plus EMF metrics; X-Ray would add a wildcard PutTraceSegments permission ' +
          'and a segment per site request without telling more.',
      },
    );

    grantRotationPermissions(role, {
      rotatedSecret: this.rotatedSecret,
      stagedKeySecret: this.stagedKeySecret,
      masterApiKeySecret: this.masterApiKeySecret,
      logGroup: this.logGroup,
      ledgerTable: this.ledgerTable,
      sitesParameterName: this.sitesParameterName,
      siteList,
    });

    // Only a rotated secret this construct created gets these statements: an adopted one's policy is its owner's.
    if (props.rotatedSecret === undefined && this.rotatedSecret instanceof secretsmanager.Secret) {
      this.#guard = new RotatedSecretGuard(this.rotatedSecret, {
        rotationRoleArn: role.roleArn,
        functionArn: this.rotationFunction.functionArn,
        operatorArns: settings.operatorArns,
      });
    } else if (settings.operatorArns.length > 0) {
      Annotations.of(this).addWarningV2(
        'stripe-key-rotator:operators-without-policy',
        'operatorPrincipals has no effect: the rotated secret was adopted, and its resource policy belongs to its owner',
      );
    }
    if (props.stagedKeySecret === undefined && this.stagedKeySecret instanceof secretsmanager.Secret) {
      this.#stagedGuard = new StagedSecretGuard(this.stagedKeySecret, {
        rotationRoleArn: role.roleArn,
        readerArns: settings.operatorArns,
      });
    } else {
      Annotations.of(this).addWarningV2(
        'stripe-key-rotator:staged-secret-without-policy',
        'stagedKeySecret was adopted, and its resource policy belongs to its owner: after a rotation its AWSPREVIOUS ' +
          'holds the key in service, readable by whoever IAM lets read it. Add a Deny of secretsmanager:GetSecretValue ' +
          'for every aws:PrincipalArn but the rotation role, the stagers and the operators (README, "Access for people and workloads")',
      );
    }
    // Checked at synthesis: grantOperate() after the constructor names operators too.
    this.node.addValidation({ validate: () => this.operatorProblems(props.keyMode) });

    this.rotationFunction.addPermission('InvokeBySecretsManager', {
      principal: new iam.ServicePrincipal('secretsmanager.amazonaws.com'),
      action: 'lambda:InvokeFunction',
      // Confused-deputy guard the L2 rotation schedule omits (aws/aws-cdk#28406): this account, this secret.
      sourceAccount: stack.account,
      sourceArn: this.rotatedSecret.secretFullArn ?? `${this.rotatedSecret.secretArn}-??????`,
    });

    // L1 rather than `addRotationSchedule`: the L2 has no cron window, grants GetRandomPassword on `*`
    // and KMS use not tied to the secret; every permission this function holds is in rotation-permissions.ts.
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

    // Built into this construct (not a child), so the resources keep their construct paths and logical IDs.
    const monitoring = new RotationMonitoring(this, {
      serviceName: settings.serviceName,
      rotatedSecret: this.rotatedSecret,
      rotationFunction: this.rotationFunction,
      timeout: settings.timeout,
      logGroup: this.logGroup,
      notificationEmails: props.notificationEmails ?? [],
      topic: props.notificationsTopic,
      removalPolicy,
      rotationRole: role,
      // The name this construct gave, rather than the token CDK parses back out of the ARN.
      rotatedSecretName:
        props.rotatedSecret === undefined
          ? `${settings.serviceName}/stripe-secret-key`
          : this.rotatedSecret.secretName,
    });
    this.notificationsTopic = monitoring.topic;
    this.notificationPathTopic = monitoring.pathTopic;
    this.failureRule = monitoring.failureRule;
    this.tamperRule = monitoring.tamperRule;
    this.errorsAlarm = monitoring.errorsAlarm;
    const monitoringAlarms = [
      monitoring.errorsAlarm,
      ...monitoring.pathAlarms,
      monitoring.stagedKeyResetAlarm,
    ];
    this.dashboard = monitoring.dashboard;
    // Secrets Manager tests the configuration as soon as the schedule exists: its failure notice needs the
    // rule and the topic policy in place.
    this.rotationSchedule.node.addDependency(monitoring.failureRule, monitoring.topic);
    if (props.notifyOnSuccess === true) this.allowSuccessNotices(monitoring.topic);

    this.watchdog = new RotationWatchdog(this, {
      serviceName: settings.serviceName,
      rotatedSecret: this.rotatedSecret,
      topic: this.notificationsTopic,
      overdueAfterHours: settings.overdueAfterHours,
      pendingMaxHours: settings.pendingMaxHours,
      logRetention: settings.logRetention,
      removalPolicy,
    });
    this.alarms = [
      ...monitoringAlarms,
      this.watchdog.overdueAlarm,
      this.watchdog.pendingAlarm,
      this.watchdog.disabledAlarm,
    ];

    this.#grants = new RotationGrants(this, {
      rotatedSecret: this.rotatedSecret,
      stagedKeySecret: this.stagedKeySecret,
      masterApiKeySecret: this.masterApiKeySecret,
      ledgerTable: this.ledgerTable,
      rotationFunction: this.rotationFunction,
      siteList,
      sitesParameterName: this.sitesParameterName,
    });
    this.operatorPolicy = new iam.ManagedPolicy(this, 'OperatorPolicy', {
      description: `Operates the Stripe key rotation of ${settings.serviceName} with the stripe-key-rotator CLI.`,
      statements: this.#grants.operate(),
    });
  }

  /**
   * A rule on failed, abandoned and failed-test rotations of the rotated secret (Secrets Manager's events
   * via CloudTrail, which EventBridge delivers best-effort: the staleness alarms cover a lost event), for
   * targets of your own, like `secret.onRotationFailed`-style helpers elsewhere.
   */
  onRotationFailed(id: string, options: events.OnEventOptions = {}): events.Rule {
    const rule = new events.Rule(this, id, {
      description: options.description,
      ruleName: options.ruleName,
      eventPattern: rotationFailurePattern(this.rotatedSecret),
      crossStackScope: options.crossStackScope,
    });
    // Merged into the failure pattern, as aws-cdk-lib's own `on…` helpers merge `eventPattern`.
    if (options.eventPattern !== undefined) rule.addEventPattern(options.eventPattern);
    if (options.target !== undefined) rule.addTarget(options.target);
    return rule;
  }

  /** Lets `grantee` read the Stripe key in service (AWSCURRENT of the rotated secret), e.g. a payment workload. */
  grantReadKey(grantee: iam.IGrantable): iam.Grant {
    return RotationGrants.grant(grantee, this.#grants.readKey());
  }

  /**
   * Lets `grantee` stage the next key (the CLI's `stage`: write the staged secret, compare with the keys in
   * service). A role or user grantee is also let through the staged secret's read guard; any other grantee (a
   * group) is not, and synthesis warns: name its roles or users in `operatorPrincipals`.
   */
  grantStageKey(grantee: iam.IGrantable): iam.Grant {
    this.letReadStaged(grantee, 'grantStageKey');
    return RotationGrants.grant(grantee, this.#grants.stageKey());
  }

  /** Lets a role or user grantee through the staged secret's read guard; warns for any other. */
  private letReadStaged(grantee: iam.IGrantable, grant: string): void {
    if (this.#stagedGuard === undefined) return;
    const arn = principalArnOf(grantee.grantPrincipal);
    if (arn !== undefined && operatorArnProblem(arn) === undefined) {
      this.#stagedGuard.allowReader(arn);
    } else {
      Annotations.of(this).addWarningV2(
        `stripe-key-rotator:${grant}:staged-reader-not-let-through`,
        `${grant}(${grantee.grantPrincipal}): not a role or a user, so the staged secret's resource policy still ` +
          'denies it GetSecretValue: name its roles or users in operatorPrincipals',
      );
    }
  }

  /**
   * A live rotation needs someone who can clear a stuck one: the rotated secret's policy denies every person
   * the writes of the CLI's abort unless named. Test mode only warns.
   */
  private operatorProblems(keyMode: string): string[] {
    if (this.#guard === undefined || this.#guard.hasOperators) return [];
    const message =
      'no operator may write the rotated secret: its resource policy denies every person PutSecretValue and ' +
      "UpdateSecretVersionStage, so nobody could run the CLI's abort on a stuck rotation. Name the operators' " +
      'roles or users in operatorPrincipals (cdk.json: "environments": {"<name>": {"operatorPrincipals": ' +
      '["arn:aws:iam::<account>:role/<operators>"]}}; construct prop operatorPrincipals), or call grantOperate(role)';
    if (keyMode === 'live') return [`operatorPrincipals is required for a live rotation: ${message}`];
    Annotations.of(this).addWarningV2('stripe-key-rotator:no-operators', message);
    return [];
  }

  /** The ledger table. Key schema shared with the function's adapter (core/rules/ledger-schema.ts): they cannot drift apart. */
  private createLedgerTable(
    encryptionKey: kms.IKey | undefined,
    removalPolicy: RemovalPolicy,
  ): dynamodb.Table {
    const table = new dynamodb.Table(this, 'LedgerTable', {
      partitionKey: { name: LEDGER_TABLE_SCHEMA.partitionKey, type: dynamodb.AttributeType.STRING },
      sortKey: { name: LEDGER_TABLE_SCHEMA.sortKey, type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      encryption:
        encryptionKey === undefined
          ? dynamodb.TableEncryption.AWS_MANAGED
          : dynamodb.TableEncryption.CUSTOMER_MANAGED,
      encryptionKey,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      timeToLiveAttribute: LEDGER_TABLE_SCHEMA.timeToLiveAttribute,
      // The ledger is the rotation's memory (what every site holds): a stack update must not drop it.
      deletionProtection: true,
      removalPolicy,
    });
    table.addGlobalSecondaryIndex({
      indexName: LEDGER_TABLE_SCHEMA.historyIndex.name,
      partitionKey: {
        name: LEDGER_TABLE_SCHEMA.historyIndex.partitionKey,
        type: dynamodb.AttributeType.STRING,
      },
      sortKey: { name: LEDGER_TABLE_SCHEMA.historyIndex.sortKey, type: dynamodb.AttributeType.STRING },
      projectionType: dynamodb.ProjectionType.ALL,
    });
    return table;
  }

  /** The function publishes a notice when a rotation finished (`notifyOnSuccess`), to `topic` only. */
  private allowSuccessNotices(topic: sns.ITopic): void {
    const fn = this.rotationFunction;
    fn.addEnvironment(SETTINGS.successNoticeTopicArn.variable, topic.topicArn);
    fn.addToRolePolicy(
      new iam.PolicyStatement({
        sid: 'PublishSuccessNotice',
        actions: ['sns:Publish'],
        resources: [topic.topicArn],
      }),
    );
    if (topic.masterKey !== undefined) {
      // What SNS needs to encrypt a message for an encrypted topic, through SNS only (no wildcard action).
      fn.addToRolePolicy(
        new iam.PolicyStatement({
          sid: 'EncryptSuccessNotice',
          actions: ['kms:Decrypt', 'kms:GenerateDataKey'],
          resources: [topic.masterKey.keyArn],
          conditions: { StringEquals: { 'kms:ViaService': `sns.${Stack.of(this).region}.amazonaws.com` } },
        }),
      );
    } else if (topic.node.defaultChild === undefined) {
      // An imported topic: its encryption and its policy are not known here.
      Annotations.of(this).addWarningV2(
        'stripe-key-rotator:notifyOnSuccess:imported-topic',
        `notifyOnSuccess: notificationsTopic is imported, so the rotation role may publish to it but nothing ` +
          `here can allow it on the topic's side: if the topic is encrypted, its key policy must let the role use ` +
          `kms:Decrypt and kms:GenerateDataKey through SNS; if it is in another account, its policy must allow ` +
          `sns:Publish to the role. Otherwise success notices fail (logged by the function, never failing a rotation).`,
      );
    }
  }

  /** Lets `grantee` start a rotation (`RotateSecret`, and the invoke right on the function it requires). */
  grantStartRotation(grantee: iam.IGrantable): iam.Grant {
    return RotationGrants.grant(grantee, this.#grants.startRotation());
  }

  /**
   * Lets `grantee` run the CLI's `status`, `plan`, `rotate` and `abort` (the `operatorPolicy` statements).
   * A role or user grantee is also let through the rotated secret's resource policy, which `abort` needs;
   * any other grantee (a group) is not, and synthesis warns: name its roles or users in `operatorPrincipals`.
   */
  grantOperate(grantee: iam.IGrantable): iam.Grant {
    if (this.#guard !== undefined) {
      const arn = principalArnOf(grantee.grantPrincipal);
      if (arn !== undefined && operatorArnProblem(arn) === undefined) {
        this.#guard.allowWriter(arn);
      } else {
        Annotations.of(this).addWarningV2(
          'stripe-key-rotator:operator-not-let-through',
          `grantOperate(${grantee.grantPrincipal}): not a role or a user, so the rotated secret's resource policy still ` +
            "denies it UpdateSecretVersionStage (the CLI's abort): name its roles or users in operatorPrincipals",
        );
      }
    }
    this.letReadStaged(grantee, 'grantOperate');
    return RotationGrants.grant(grantee, this.#grants.operate());
  }

  /**
   * Rotations that finished (AWSCURRENT moved).
   * @default - sum over 5 minutes
   */
  metricRotationSucceeded(options?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return rotationMetric(this.serviceName, 'RotationSucceeded', options);
  }

  /**
   * Rotation steps that failed (any step, any reason).
   * @default - sum over 5 minutes
   */
  metricStepFailed(options?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return rotationMetric(this.serviceName, 'RotationStepFailed', options);
  }

  /**
   * Sites holding the new key at the end of a push.
   * @default - maximum over 5 minutes
   */
  metricSitesConfirmed(options?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return rotationMetric(this.serviceName, 'SitesConfirmed', options);
  }

  /**
   * Sites that did not confirm at the end of a push.
   * @default - maximum over 5 minutes
   */
  metricSitesFailed(options?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return rotationMetric(this.serviceName, 'SitesFailed', options);
  }

  /**
   * Staged key secret resets that failed after a rotation finished: that secret still holds the key in
   * service until a replayed finishSecret or the next rotation resets it.
   * @default - sum over 5 minutes
   */
  metricStagedKeyResetFailed(options?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return rotationMetric(this.serviceName, 'StagedKeyResetFailed', options);
  }

  /**
   * How long the push of a setSecret step took, in milliseconds.
   * @default - maximum over 5 minutes
   */
  metricPushDuration(options?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return rotationMetric(this.serviceName, 'PushDuration', options);
  }
}
