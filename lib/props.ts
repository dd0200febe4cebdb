/**
 * The props of `StripeKeyRotation`: the construct's API, every optional prop with its `@default`. Their
 * validation is in resolve-props.ts. The function's settings take their defaults and bounds from the
 * function's own contract (core/contract.ts); JSDoc cannot import, so the `@default`s below restate it and
 * test/infra/props.test.ts checks that they agree.
 */
import type { Duration, RemovalPolicy } from 'aws-cdk-lib';
import type * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type { KeyMode, WhenNothingStaged } from '../core/index.js';
import type { KeyRotationSchedule } from './schedule.js';
import type { SiteListParameter } from './site-list.js';

export interface StripeKeyRotationProps {
  /** Which Stripe keys this deployment rotates (`sk_live_` or `sk_test_`); a key of the other mode is refused. */
  readonly keyMode: KeyMode;

  /**
   * Names this deployment in its telemetry: the Powertools `service` and the metrics' `service` dimension,
   * and the descriptions of its resources. Letters, digits, `-` and `_`, starting with a letter, at most 64
   * characters; a deploy-time token (a `CfnParameter`) is accepted and checked by nobody. Give each instance
   * in one account and region its own, or their metrics and alarms mix.
   *
   * @default `stripe-key-rotator-<keyMode>`
   */
  readonly serviceName?: string;

  /**
   * Gives the resources that take a name a fixed one: the secrets `<namePrefix>/stripe-secret-key`,
   * `<namePrefix>/staged-stripe-secret-key` and `<namePrefix>/master-api-key`, the site-list parameter
   * `/<namePrefix>/sites` (unless `siteList` names it) and the dashboard `<namePrefix>`. Fixed names are
   * easier to find in the console but two instances with the same prefix cannot share an account and region.
   *
   * @default - names CloudFormation generates, unique per resource
   */
  readonly namePrefix?: string;

  /**
   * The secret whose AWSCURRENT version is the Stripe key in service. Pass an existing one to adopt it,
   * preferably by complete ARN: one known by name only gets policies ending in `-??????`.
   *
   * @default - a new secret holding a random placeholder
   */
  readonly rotatedSecret?: secretsmanager.ISecret;

  /**
   * Where operators stage the next key. Pass an existing one to adopt it, e.g. when recreating a stack
   * whose staged secret was retained; the function only reads it (`none` or blank means nothing staged).
   *
   * @default - a new secret holding `none`
   */
  readonly stagedKeySecret?: secretsmanager.ISecret;

  /**
   * The secret holding the sites' master API key (the `X-API-Key` header). Never a value in code.
   *
   * @default - a new secret holding a random placeholder to replace
   */
  readonly masterApiKeySecret?: secretsmanager.ISecret;

  /**
   * The propagation ledger (rotation history, per-site results, what each site holds). Pass an existing
   * table to adopt it, e.g. the one a deleted stack retained, so the new stack keeps that memory. It must be
   * in this stack's account and region (the function finds it by name) and have the ledger's schema: string keys `pk` and `sk` and a global secondary index `history` on `gsi1pk`,
   * `gsi1sk` (projection ALL); the function's configuration test on deploy reads both and fails naming the
   * table when they are not there. Import a table encrypted with a customer managed key with that key
   * (`Table.fromTableAttributes({ tableName, encryptionKey })`) so the function may use it.
   *
   * @default - a new on-demand table, encrypted, with point-in-time recovery, and deletion protection
   * unless `removalPolicy` is `DESTROY`
   */
  readonly ledgerTable?: dynamodb.ITable;

  /**
   * Where the list of sites lives.
   *
   * @default SiteListParameter.create() - a new String parameter, named `/<namePrefix>/sites` when
   * `namePrefix` is given
   */
  readonly siteList?: SiteListParameter;

  /**
   * Customer managed key for the secrets and the ledger table this construct creates. The function may use
   * it only through Secrets Manager for those secrets (`kms:EncryptionContext:SecretARN`) and only through
   * DynamoDB for the table (`kms:ViaService`).
   *
   * @default - the AWS managed keys `aws/secretsmanager` and `aws/dynamodb`
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
  readonly whenNothingStaged?: WhenNothingStaged;

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
   * of TLS handshakes, which are CPU-bound: 512 MB rotates 10,000 sites within a quarter of the timeout;
   * docs/sizing.md says which fleet each size serves.
   *
   * @default 512
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
   * Your own topic for every notice: failed rotations (the failure rule), the notification path and
   * watchdog alarms. The construct then creates no topic and no topic key. It adds the publish statements
   * (EventBridge for the failure rule, CloudWatch for the alarms, each pinned to its source) to the topic's
   * policy and, when the topic is encrypted, `kms:Decrypt`/`kms:GenerateDataKey` to its key's policy: this
   * works for a topic and key defined in the same app. For an imported topic or key, synth warns and you
   * add those statements yourself (README, "Monitoring and alerts").
   *
   * @default - a new topic, encrypted with a new customer managed key
   */
  readonly notificationsTopic?: sns.ITopic;

  /**
   * Also tell the notifications topic when a rotation finished: the function publishes, once AWSCURRENT
   * moved, the masked new key (with its fingerprint), the number of sites that confirmed it and both version
   * ids. A failed publish is logged and never fails the rotation. With an imported `notificationsTopic`, synth
   * warns what the topic's key and policy must allow (nothing here can add it).
   *
   * @default false - notices for failures and alarms only
   */
  readonly notifyOnSuccess?: boolean;

  /**
   * How old the last successful rotation may get before the watchdog's overdue alarm fires (whole hours).
   *
   * @default the schedule's longest gap between two starts plus its window; required for a cron schedule
   * on days of the month or in restricted months, whose gaps are not derived
   */
  readonly overdueAfter?: Duration;

  /**
   * How old an AWSPENDING version may get before the watchdog reports the rotation stuck (whole hours).
   *
   * @default 6 hours (WATCHDOG_SETTINGS.pendingMaxHours)
   */
  readonly pendingMaxAge?: Duration;

  /**
   * The rotation function's execution role, e.g. one made to an organisation's conventions (path,
   * permissions boundary). It must trust `lambda.amazonaws.com`. A mutable role (an `iam.Role`, or one
   * imported with `mutable: true`, the default) receives the function's statements (rotation-permissions.ts);
   * one imported with `mutable: false` takes none, so its owner attaches them. The rotated secret's resource
   * policy lets this role write.
   *
   * @default - a new role only Lambda can assume, holding exactly the function's statements
   */
  readonly role?: iam.IRole;

  /**
   * Who besides the rotation function may write the rotated secret's versions and labels (`PutSecretValue`,
   * `UpdateSecretVersionStage`): the operators who run the CLI's `abort`. The resource policy of a rotated
   * secret this construct creates denies those writes to every other principal, whatever IAM allows; it is
   * matched on `aws:PrincipalArn`, so name roles and users (not role sessions or groups). `grantOperate(g)`
   * adds `g` too when `g` is a role or a user; holders of `operatorPolicy` must be named here.
   *
   * @default - none: only the rotation function and `grantOperate` grantees write the rotated secret
   */
  readonly operatorPrincipals?: readonly iam.IPrincipal[];

  /**
   * What happens to the secrets, the site-list parameter, the ledger table, the keys and the log groups
   * this construct creates when they leave the stack. `DESTROY` (a sandbox) also leaves the ledger table
   * without deletion protection, so that `cdk destroy` can delete it.
   *
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;

  /**
   * The dashboard: `true` for a new one (named `namePrefix` when given), `false` for none, or your own
   * dashboard, to which the rotation's widgets are added.
   *
   * @default true
   */
  readonly dashboard?: boolean | cloudwatch.Dashboard;

  /**
   * Whether to create the alarms (`alarms`): function errors and limits, the notification path (with its own
   * topic and key, `notificationPathTopic`), the staged key reset and the watchdog's staleness alarms. Without
   * them, build your own from the `metric*` methods; failure notices still reach the notifications topic.
   *
   * @default true
   */
  readonly alarms?: boolean;

  /**
   * Whether to create the watchdog: a small function that publishes, every few hours, how long since the
   * last rotation, how old an AWSPENDING version is and whether rotation is enabled (`metricHoursSinceLastRotation`
   * and siblings), with an alarm on each when `alarms` is on. Without it nothing notices a rotation that never
   * starts.
   *
   * @default true
   */
  readonly watchdog?: boolean;

  /**
   * Whether to create `operatorPolicy`, a managed policy with the statements of `grantOperate`, for
   * operators' roles or groups made outside CDK.
   *
   * @default true
   */
  readonly operatorPolicy?: boolean;
}
