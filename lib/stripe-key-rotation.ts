/**
 * The reusable construct: everything one Stripe key rotation needs, least privilege and observable.
 * The rotation function is the one in `lambda/` (see docs/rotation-protocol.md); this file only deploys it,
 * putting the parts together: props in props.ts (validated in resolve-props.ts), the secrets, the ledger
 * table and the function in their own modules, the secrets' guards in secret-guards.ts, notifications,
 * alarms and dashboard in rotation-monitoring.ts.
 */
import { CfnOutput, Stack } from 'aws-cdk-lib';
import type * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as logs from 'aws-cdk-lib/aws-logs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type * as sns from 'aws-cdk-lib/aws-sns';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import type { aws_secretsmanager as secretsmanagerRefs } from 'aws-cdk-lib/interfaces';
import type { Construct } from 'constructs';
import { STACK_DESCRIPTOR } from '../core/index.js';
import { rotationFailurePattern } from './failure-rule.js';
import { createLedgerTable } from './ledger-table.js';
import type { StripeKeyRotationProps } from './props.js';
import { resolveProps } from './resolve-props.js';
import {
  ImportedStripeKeyRotation,
  type IStripeKeyRotation,
  type StripeKeyRotationAttributes,
  StripeKeyRotationBase,
} from './rotation-base.js';
import { createRotationFunction } from './rotation-function.js';
import type { RotationGrants } from './rotation-grants.js';
import { RotationMonitoring } from './rotation-monitoring.js';
import { grantRotationPermissions } from './rotation-permissions.js';
import { createRotationSecrets } from './rotation-secrets.js';
import { type IRotationWatchdog, RotationWatchdog } from './rotation-watchdog.js';
import { SecretGuards } from './secret-guards.js';
import { SiteListParameter, siteListChoice } from './site-list.js';
import { allowSuccessNotices } from './success-notices.js';

/**
 * Deploys the rotation of one Stripe secret key across a fleet of sites. Each instance adds one stack output,
 * `StripeKeyRotationDescriptor<address>`: what the operator CLI's `--stack NAME` (with `--construct-id` when
 * the stack holds several instances) reads to find this rotation's secrets, site list and ledger.
 */
export class StripeKeyRotation extends StripeKeyRotationBase {
  /**
   * A rotation deployed elsewhere, for its grants and metrics. Its grants are identity statements only:
   * the secrets' resource policies belong to the stack that deployed it, so grantees of `grantStageKey` and
   * `grantOperate` must be named in that instance's `operatorPrincipals`.
   */
  static fromAttributes(
    scope: Construct,
    id: string,
    attrs: StripeKeyRotationAttributes,
  ): IStripeKeyRotation {
    return new ImportedStripeKeyRotation(scope, id, attrs);
  }

  /** The deployment's name: the metrics' `service` dimension and the Powertools `service` of its logs. */
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
  readonly sitesParameter?: ssm.IStringParameter;
  /** The propagation ledger: per-rotation site-list snapshot, per-site results, what each site holds. */
  readonly ledgerTable: dynamodb.ITable;
  /** The rotation function Secrets Manager invokes for each of the four steps. */
  readonly rotationFunction: lambda.IFunction;
  /** The function's logs: one structured line per step and per site result, never a secret. */
  readonly logGroup: logs.ILogGroup;
  /**
   * The rotation schedule of the rotated secret: an L1 resource underneath, not aws-cdk-lib's
   * `RotationSchedule`, which offers no schedule window and would grant the function `GetRandomPassword` on
   * `*` and KMS use not tied to the secret (every permission of the function is in rotation-permissions.ts).
   */
  readonly rotationSchedule: secretsmanagerRefs.IRotationScheduleRef;
  /**
   * Where failed, abandoned and failed-test rotations and the alarms in `alarms` are announced: the
   * `notificationsTopic` prop, or the topic the construct created.
   */
  readonly notificationsTopic: sns.ITopic;
  /** The EventBridge rule that turns Secrets Manager's rotation failure events into notifications. */
  readonly failureRule: events.IRule;
  /**
   * The EventBridge rule that announces, on the notifications topic, each change to the rotated secret's
   * value, labels or resource policy made by anyone but the rotation function (CloudTrail management events:
   * the account needs a trail in this region).
   */
  readonly tamperRule: events.IRule;
  /**
   * Where the alarms on the notification path itself (rule delivery failures, dead letters) notify: a topic
   * and key of their own, so that a broken notifications topic or key cannot silence them. Subscribed with
   * `notificationEmails`; subscribe a pager here too. Absent with `alarms: false`.
   */
  readonly notificationPathTopic?: sns.ITopic;
  /**
   * Alarm on the function's errors (any failed step); on the dashboard, not notified (the failure rule is).
   * Absent with `alarms: false`.
   */
  readonly errorsAlarm?: cloudwatch.IAlarm;
  /**
   * Every alarm this construct creates: function errors, the notification path (rule delivery failures,
   * dead letters), the function's limits (duration near the timeout, throttles) and staleness (overdue,
   * stuck AWSPENDING, rotation disabled). Add your own actions to them, e.g. a paging system. Empty with
   * `alarms: false`.
   */
  readonly alarms: readonly cloudwatch.IAlarm[];
  /**
   * The dashboard holding the rotation's widgets: the one created, or the one given as `dashboard`.
   * Absent with `dashboard: false`.
   */
  readonly dashboard?: cloudwatch.Dashboard;
  /**
   * A managed policy holding exactly what the operator CLI's `status`, `plan`, `rotate` and `abort` need
   * (the statements of `grantOperate`): attach it to the operators' role or group. Absent with
   * `operatorPolicy: false`.
   */
  readonly operatorPolicy?: iam.IManagedPolicy;
  /** Staleness detection: rotation disabled, overdue, or stuck with an old AWSPENDING. Absent with `watchdog: false`. */
  readonly watchdog?: IRotationWatchdog;
  protected readonly grants: RotationGrants;
  /** The owned secrets' resource-policy guards, and who the grants let through them. */
  protected readonly guards: SecretGuards;

  constructor(scope: Construct, id: string, props: StripeKeyRotationProps) {
    super(scope, id);
    const settings = resolveProps(this.node.path, props, Stack.of(this));
    const stack = Stack.of(this);
    this.serviceName = settings.serviceName;
    const removalPolicy = settings.removalPolicy;

    const secrets = createRotationSecrets(this, {
      serviceName: settings.serviceName,
      namePrefix: props.namePrefix,
      keyMode: props.keyMode,
      encryptionKey: props.encryptionKey,
      removalPolicy,
      rotatedSecret: props.rotatedSecret,
      stagedKeySecret: props.stagedKeySecret,
      masterApiKeySecret: props.masterApiKeySecret,
    });
    this.rotatedSecret = secrets.rotatedSecret;
    this.stagedKeySecret = secrets.stagedKeySecret;
    this.masterApiKeySecret = secrets.masterApiKeySecret;

    const siteList = siteListChoice(props.siteList ?? SiteListParameter.create());
    if (siteList.kind === 'new') {
      const parameterName =
        siteList.parameterName ?? (props.namePrefix === undefined ? undefined : `/${props.namePrefix}/sites`);
      const sitesParameter = new ssm.StringParameter(this, 'SitesParameter', {
        parameterName,
        description: `Sites receiving the Stripe ${props.keyMode} key from ${settings.serviceName}: one https URL per line.`,
        stringValue: '# one https URL per line; lines starting with # are ignored',
        tier: ssm.ParameterTier.STANDARD,
      });
      sitesParameter.applyRemovalPolicy(removalPolicy);
      this.sitesParameter = sitesParameter;
      // A given name stays literal in the policies; a generated one is known at deploy only.
      this.sitesParameterName = parameterName ?? sitesParameter.parameterName;
    } else {
      this.sitesParameterName = siteList.parameter;
    }

    this.ledgerTable = props.ledgerTable ?? createLedgerTable(this, props.encryptionKey, removalPolicy);

    const { logGroup, role, rotationFunction } = createRotationFunction(this, {
      keyMode: props.keyMode,
      settings,
      role: props.role,
      stagedSecretId: this.stagedKeySecret.secretArn,
      masterApiKeySecretId: this.masterApiKeySecret.secretArn,
      sitesParameter: this.sitesParameterName,
      ledgerTable: this.ledgerTable.tableName,
    });
    this.logGroup = logGroup;
    this.rotationFunction = rotationFunction;

    grantRotationPermissions(role, {
      rotatedSecret: this.rotatedSecret,
      stagedKeySecret: this.stagedKeySecret,
      masterApiKeySecret: this.masterApiKeySecret,
      logGroup: this.logGroup,
      ledgerTable: this.ledgerTable,
      sitesParameterName: this.sitesParameterName,
      siteList,
    });

    // Only the secrets this construct created get guards: an adopted one's policy is its owner's.
    this.guards = new SecretGuards(this, {
      rotatedSecret: this.rotatedSecret,
      stagedKeySecret: this.stagedKeySecret,
      adopted: {
        rotatedSecret: props.rotatedSecret !== undefined,
        stagedKeySecret: props.stagedKeySecret !== undefined,
      },
      rotationRoleArn: role.roleArn,
      functionArn: this.rotationFunction.functionArn,
      operatorArns: settings.operatorArns,
    });
    // Checked at synthesis: grantOperate() after the constructor names operators too.
    this.node.addValidation({ validate: () => this.guards.operatorProblems(props.keyMode) });

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
        props.rotatedSecret === undefined && props.namePrefix !== undefined
          ? `${props.namePrefix}/stripe-secret-key`
          : this.rotatedSecret.secretName,
      alarms: props.alarms ?? true,
      dashboard: props.dashboard ?? true,
      dashboardName: props.namePrefix,
    });
    this.notificationsTopic = monitoring.topic;
    this.notificationPathTopic = monitoring.pathTopic;
    this.failureRule = monitoring.failureRule;
    this.tamperRule = monitoring.tamperRule;
    this.errorsAlarm = monitoring.errorsAlarm;
    this.dashboard = monitoring.dashboard;
    // Secrets Manager tests the configuration as soon as the schedule exists: its failure notice needs the
    // rule and the topic policy in place.
    this.rotationSchedule.node.addDependency(monitoring.failureRule, monitoring.topic);
    if (props.notifyOnSuccess === true) {
      allowSuccessNotices(this, rotationFunction, monitoring.topic);
    }

    const watchdog =
      props.watchdog === false
        ? undefined
        : new RotationWatchdog(this, {
            serviceName: settings.serviceName,
            rotatedSecret: this.rotatedSecret,
            topic: this.notificationsTopic,
            overdueAfterHours: settings.overdueAfterHours,
            pendingMaxHours: settings.pendingMaxHours,
            logRetention: settings.logRetention,
            removalPolicy,
            alarms: props.alarms ?? true,
          });
    this.watchdog = watchdog;
    this.alarms = [...monitoring.alarms, ...(watchdog?.alarms ?? [])];

    this.grants = this.grantsOver(siteList, stack.stackId);
    if (props.operatorPolicy !== false) {
      this.operatorPolicy = new iam.ManagedPolicy(this, 'OperatorPolicy', {
        description: `Operates the Stripe key rotation of ${settings.serviceName} with the stripe-key-rotator CLI.`,
        statements: this.grants.operate(),
      });
    }

    // What the operator CLI's `--stack NAME` reads, in any app's stack: one output per construct, keyed by
    // the construct's address (unique in the app), holding the values as a JSON descriptor that
    // CloudFormation completes at deploy time (core/operations/deployment.ts parses it).
    const descriptor = new CfnOutput(this, 'Descriptor', {
      description:
        'What the stripe-key-rotator CLI reads with --stack (--construct-id when several): a JSON descriptor.',
      value: stack.toJsonString({
        v: STACK_DESCRIPTOR.version,
        id: this.node.path,
        rotatedSecret: this.rotatedSecret.secretArn,
        stagedKeySecret: this.stagedKeySecret.secretArn,
        masterApiKeySecret: this.masterApiKeySecret.secretArn,
        sitesParameter: this.sitesParameterName,
        ledgerTable: this.ledgerTable.tableName,
        keyMode: props.keyMode,
      }),
    });
    descriptor.overrideLogicalId(`${STACK_DESCRIPTOR.outputPrefix}${this.node.addr}`);
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
}
