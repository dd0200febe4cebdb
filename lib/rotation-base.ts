/**
 * What a deployed rotation and an imported one share: the `IStripeKeyRotation` interface, its grants and its
 * metrics (`StripeKeyRotationBase`), and the imported rotation `StripeKeyRotation.fromAttributes` returns.
 */
import { Stack } from 'aws-cdk-lib';
import type * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct, type IConstruct } from 'constructs';
import { ConfigurationError, type MetricName, type WatchdogMetricName } from '../core/index.js';
import { RotationGrants } from './rotation-grants.js';
import { rotationMetric, watchdogMetric } from './rotation-metrics.js';
import type { SecretGuards } from './secret-guards.js';
import { type SiteListParameter, siteListChoice } from './site-list.js';

type SiteListChoice = ReturnType<typeof siteListChoice>;

/** A Stripe key rotation, deployed here (`StripeKeyRotation`) or elsewhere (`StripeKeyRotation.fromAttributes`). */
export interface IStripeKeyRotation extends IConstruct {
  /** The deployment's name: the metrics' `service` dimension. */
  readonly serviceName: string;
  /** The secret being rotated; its AWSCURRENT version is the key in service. */
  readonly rotatedSecret: secretsmanager.ISecret;
  /** Where an operator stages the next key before starting a rotation. */
  readonly stagedKeySecret: secretsmanager.ISecret;
  /** The sites' master API key, sent as `X-API-Key` with every push. */
  readonly masterApiKeySecret: secretsmanager.ISecret;
  /** The `SITES_PARAMETER` value: a parameter name, or a path ending in `/`. */
  readonly sitesParameterName: string;
  /** The propagation ledger. */
  readonly ledgerTable: dynamodb.ITable;
  /** The rotation function Secrets Manager invokes for each of the four steps. */
  readonly rotationFunction: lambda.IFunction;

  /** Lets `grantee` read the Stripe key in service: the rotated secret's AWSCURRENT version only. */
  grantReadKey(grantee: iam.IGrantable): iam.Grant;
  /** Lets `grantee` read every version of the rotated secret (AWSPENDING, AWSPREVIOUS, by id). */
  grantReadKeyVersions(grantee: iam.IGrantable): iam.Grant;
  /** Lets `grantee` stage the next key (the CLI's `stage`). */
  grantStageKey(grantee: iam.IGrantable): iam.Grant;
  /** Lets `grantee` start a rotation. */
  grantStartRotation(grantee: iam.IGrantable): iam.Grant;
  /** Lets `grantee` run the CLI's `status`, `plan`, `rotate` and `abort`. */
  grantOperate(grantee: iam.IGrantable): iam.Grant;

  /** Rotations that finished (AWSCURRENT moved). */
  metricRotationSucceeded(options?: cloudwatch.MetricOptions): cloudwatch.Metric;
  /** Rotation steps that failed. */
  metricStepFailed(options?: cloudwatch.MetricOptions): cloudwatch.Metric;
  /** Sites holding the new key at the end of a push. */
  metricSitesConfirmed(options?: cloudwatch.MetricOptions): cloudwatch.Metric;
  /** Sites that did not confirm at the end of a push. */
  metricSitesFailed(options?: cloudwatch.MetricOptions): cloudwatch.Metric;
  /** Sites not contacted in a push (a canary failed, or the deadline came). */
  metricSitesNotAttempted(options?: cloudwatch.MetricOptions): cloudwatch.Metric;
  /** Staged key secret resets that failed after a rotation finished. */
  metricStagedKeyResetFailed(options?: cloudwatch.MetricOptions): cloudwatch.Metric;
  /** How long the push of a setSecret step took, in milliseconds. */
  metricPushDuration(options?: cloudwatch.MetricOptions): cloudwatch.Metric;
  /** The watchdog's hours since the last successful rotation. */
  metricHoursSinceLastRotation(options?: cloudwatch.MetricOptions): cloudwatch.Metric;
  /** The watchdog's age in hours of an AWSPENDING version not yet current (0 when none). */
  metricPendingAgeHours(options?: cloudwatch.MetricOptions): cloudwatch.Metric;
  /** The watchdog's 1 while rotation is enabled on the rotated secret, 0 otherwise. */
  metricRotationEnabled(options?: cloudwatch.MetricOptions): cloudwatch.Metric;
}

/** A rotation deployed elsewhere (another stack or app), for its grants and metrics. */
export interface StripeKeyRotationAttributes {
  /** Its `serviceName` (the `ServiceName` output of a stack holding it). */
  readonly serviceName: string;
  readonly rotatedSecret: secretsmanager.ISecret;
  readonly stagedKeySecret: secretsmanager.ISecret;
  readonly masterApiKeySecret: secretsmanager.ISecret;
  readonly ledgerTable: dynamodb.ITable;
  readonly rotationFunction: lambda.IFunction;
  /** Its site list: `SiteListParameter.fromName` or `fromPath` with what it deployed. */
  readonly siteList: SiteListParameter;
  /**
   * The stack holding it, whose outputs `grantOperate` lets operators read (`--stack`).
   *
   * @default - no `cloudformation:DescribeStacks`: operators name the resources with flags
   */
  readonly stackName?: string;
}

/**
 * The grants and metrics, common to a deployed and an imported rotation. A deployed one also lets grantees
 * through the resource policies of the secrets it owns (`SecretGuards`); an imported one cannot change
 * those policies, so its `grantStageKey` and `grantOperate` grantees must be named in the deployed
 * instance's `operatorPrincipals`.
 */
export abstract class StripeKeyRotationBase extends Construct implements IStripeKeyRotation {
  abstract readonly serviceName: string;
  abstract readonly rotatedSecret: secretsmanager.ISecret;
  abstract readonly stagedKeySecret: secretsmanager.ISecret;
  abstract readonly masterApiKeySecret: secretsmanager.ISecret;
  abstract readonly sitesParameterName: string;
  abstract readonly ledgerTable: dynamodb.ITable;
  abstract readonly rotationFunction: lambda.IFunction;
  /** The statements each grant adds. */
  protected abstract readonly grants: RotationGrants;
  /** The owned secrets' resource-policy guards; none for an imported rotation. */
  protected abstract readonly guards?: SecretGuards;

  /**
   * Lets `grantee` read the Stripe key in service, e.g. a payment workload: `GetSecretValue` of the rotated
   * secret's AWSCURRENT only (a request naming AWSPENDING, AWSPREVIOUS or a version id is refused), and
   * `kms:Decrypt` through Secrets Manager when the secret has a customer managed key. Synthesis warns for a
   * grantee in another account (an identity grant alone cannot reach these secrets).
   */
  grantReadKey(grantee: iam.IGrantable): iam.Grant {
    return this.grants.grant(grantee, this.grants.readKey(), 'grantReadKey');
  }

  /**
   * Lets `grantee` read every version of the rotated secret: AWSPENDING during a rotation, AWSPREVIOUS after
   * one, any version by id, and list them. For a workload that must accept the key being rolled in or out.
   */
  grantReadKeyVersions(grantee: iam.IGrantable): iam.Grant {
    return this.grants.grant(grantee, this.grants.readKeyVersions(), 'grantReadKeyVersions');
  }

  /**
   * Lets `grantee` stage the next key (the CLI's `stage`: write the staged secret, compare with the keys in
   * service). A role or user grantee is also let through the staged secret's read guard; any other grantee (a
   * group) is not, and synthesis warns: name its roles or users in `operatorPrincipals`.
   */
  grantStageKey(grantee: iam.IGrantable): iam.Grant {
    this.guards?.letReadStaged(grantee, 'grantStageKey');
    return this.grants.grant(grantee, this.grants.stageKey(), 'grantStageKey');
  }

  /** Lets `grantee` start a rotation (`RotateSecret`, and the invoke right on the function it requires). */
  grantStartRotation(grantee: iam.IGrantable): iam.Grant {
    return this.grants.grant(grantee, this.grants.startRotation(), 'grantStartRotation');
  }

  /**
   * Lets `grantee` run the CLI's `status`, `plan`, `rotate` and `abort` (the `operatorPolicy` statements),
   * and read the outputs of the stack holding the rotation (`--stack`). A role or user grantee is also let
   * through the rotated secret's resource policy, which `abort` needs; any other grantee (a group) is not,
   * and synthesis warns: name its roles or users in `operatorPrincipals`.
   */
  grantOperate(grantee: iam.IGrantable): iam.Grant {
    this.guards?.letWrite(grantee);
    this.guards?.letReadStaged(grantee, 'grantOperate');
    return this.grants.grant(grantee, this.grants.operate(), 'grantOperate');
  }

  /**
   * Rotations that finished (AWSCURRENT moved).
   * @default - sum over 5 minutes
   */
  metricRotationSucceeded(options?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric('RotationSucceeded', options);
  }

  /**
   * Rotation steps that failed (any step, any reason).
   * @default - sum over 5 minutes
   */
  metricStepFailed(options?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric('RotationStepFailed', options);
  }

  /**
   * Sites holding the new key at the end of a push.
   * @default - maximum over 5 minutes
   */
  metricSitesConfirmed(options?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric('SitesConfirmed', options);
  }

  /**
   * Sites that did not confirm at the end of a push.
   * @default - maximum over 5 minutes
   */
  metricSitesFailed(options?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric('SitesFailed', options);
  }

  /**
   * Sites not contacted in a push: a canary failed first, or the function's deadline came.
   * @default - maximum over 5 minutes
   */
  metricSitesNotAttempted(options?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric('SitesNotAttempted', options);
  }

  /**
   * Staged key secret resets that failed after a rotation finished: that secret still holds the key in
   * service until a replayed finishSecret or the next rotation resets it.
   * @default - sum over 5 minutes
   */
  metricStagedKeyResetFailed(options?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric('StagedKeyResetFailed', options);
  }

  /**
   * How long the push of a setSecret step took, in milliseconds.
   * @default - maximum over 5 minutes
   */
  metricPushDuration(options?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric('PushDuration', options);
  }

  /**
   * The watchdog's hours since the last successful rotation (since creation when never rotated); no data
   * without the watchdog.
   * @default - minimum over the watchdog's interval
   */
  metricHoursSinceLastRotation(options?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.watchdogMetric('HoursSinceLastRotation', options);
  }

  /**
   * The watchdog's age in hours of an AWSPENDING version not yet current, 0 when there is none.
   * @default - minimum over the watchdog's interval
   */
  metricPendingAgeHours(options?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.watchdogMetric('PendingAgeHours', options);
  }

  /**
   * The watchdog's 1 while rotation is enabled on the rotated secret, 0 otherwise.
   * @default - maximum over the watchdog's interval
   */
  metricRotationEnabled(options?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.watchdogMetric('RotationEnabled', options);
  }

  /** The grants over this rotation's resources; `stackArn`: the stack whose outputs operators may read. */
  protected grantsOver(siteList: SiteListChoice, stackArn: string | undefined): RotationGrants {
    return new RotationGrants(this, {
      rotatedSecret: this.rotatedSecret,
      stagedKeySecret: this.stagedKeySecret,
      masterApiKeySecret: this.masterApiKeySecret,
      ledgerTable: this.ledgerTable,
      rotationFunction: this.rotationFunction,
      siteList,
      sitesParameterName: this.sitesParameterName,
      stackArn,
    });
  }

  private metric(name: MetricName, options?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return rotationMetric(this.serviceName, name, options);
  }

  private watchdogMetric(name: WatchdogMetricName, options?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return watchdogMetric(this.serviceName, name, options);
  }
}

/** A rotation deployed elsewhere: grants and metrics only. */
export class ImportedStripeKeyRotation extends StripeKeyRotationBase {
  readonly serviceName: string;
  readonly rotatedSecret: secretsmanager.ISecret;
  readonly stagedKeySecret: secretsmanager.ISecret;
  readonly masterApiKeySecret: secretsmanager.ISecret;
  readonly sitesParameterName: string;
  readonly ledgerTable: dynamodb.ITable;
  readonly rotationFunction: lambda.IFunction;
  protected readonly grants: RotationGrants;
  protected readonly guards = undefined;

  constructor(scope: Construct, id: string, attrs: StripeKeyRotationAttributes) {
    super(scope, id);
    const siteList = siteListChoice(attrs.siteList);
    if (siteList.kind === 'new') {
      throw new ConfigurationError(
        `StripeKeyRotation.fromAttributes ${this.node.path}: siteList must be SiteListParameter.fromName or fromPath with the deployed parameter`,
      );
    }
    this.serviceName = attrs.serviceName;
    this.rotatedSecret = attrs.rotatedSecret;
    this.stagedKeySecret = attrs.stagedKeySecret;
    this.masterApiKeySecret = attrs.masterApiKeySecret;
    this.sitesParameterName = siteList.parameter;
    this.ledgerTable = attrs.ledgerTable;
    this.rotationFunction = attrs.rotationFunction;
    const stack = Stack.of(this);
    this.grants = this.grantsOver(
      siteList,
      attrs.stackName === undefined
        ? undefined
        : stack.formatArn({
            service: 'cloudformation',
            resource: 'stack',
            resourceName: `${attrs.stackName}/*`,
          }),
    );
  }
}
