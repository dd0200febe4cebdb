/**
 * One deployment (environment) of the rotation: the construct configured from `EnvironmentSettings`,
 * the optional customer managed key, and the outputs an operator needs.
 */
import { CfnOutput, Duration, Stack, type StackProps } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import type * as logs from 'aws-cdk-lib/aws-logs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type { Construct } from 'constructs';
import { ConfigurationError, NOTHING_STAGED, STACK_OUTPUTS } from '../core/index.js';
import type { EnvironmentSettings, ExistingSecretSettings, ExistingTableSettings } from './config.js';
import { defaultServiceName } from './resolve-props.js';
import { KeyRotationSchedule } from './schedule.js';
import { SiteListParameter } from './site-list.js';
import { StripeKeyRotation } from './stripe-key-rotation.js';

export interface StripeKeyRotatorStackProps extends StackProps {
  readonly settings: EnvironmentSettings;
}

export class StripeKeyRotatorStack extends Stack {
  readonly rotation: StripeKeyRotation;
  /** The customer managed key of the secrets, when the settings ask for one. */
  readonly encryptionKey?: kms.IKey;

  constructor(scope: Construct, id: string, props: StripeKeyRotatorStackProps) {
    const { settings } = props;
    super(scope, id, {
      description: `Stripe ${settings.keyMode} secret key rotation (${settings.name}): secrets, rotation function, schedule, alarms.`,
      terminationProtection: settings.terminationProtection ?? settings.keyMode === 'live',
      ...props,
    });
    const serviceName = settings.serviceName ?? defaultServiceName(settings.name);

    if (settings.encryptionKey === 'create') {
      this.encryptionKey = new kms.Key(this, 'SecretsKey', {
        description: `Encrypts the Stripe key, staged key and master API key secrets of ${serviceName}.`,
        alias: `alias/${serviceName}`,
        enableKeyRotation: true,
      });
    } else if (settings.encryptionKey !== undefined) {
      this.encryptionKey = kms.Key.fromKeyArn(this, 'SecretsKey', settings.encryptionKey);
    }

    this.rotation = new StripeKeyRotation(this, 'Rotation', {
      keyMode: settings.keyMode,
      serviceName,
      // This app's resources keep the names its operators and README know.
      namePrefix: serviceName,
      encryptionKey: this.encryptionKey,
      rotatedSecret: this.existingSecret('RotatedSecret', settings.rotatedSecret),
      stagedKeySecret: this.existingSecret('StagedKeySecret', settings.stagedKeySecret),
      masterApiKeySecret: this.existingSecret('MasterApiKeySecret', settings.masterApiKeySecret),
      siteList: this.siteList(settings),
      ledgerTable: this.existingLedgerTable(settings.ledgerTable),
      schedule: schedule(settings),
      whenNothingStaged: settings.whenNothingStaged,
      pushConcurrency: settings.pushConcurrency,
      siteTimeout: settings.siteTimeoutMs === undefined ? undefined : Duration.millis(settings.siteTimeoutMs),
      siteAttempts: settings.siteAttempts,
      canarySites: settings.canarySites,
      stripeCheck: settings.stripeCheck,
      timeout: settings.timeoutSeconds === undefined ? undefined : Duration.seconds(settings.timeoutSeconds),
      memorySize: settings.memorySize,
      logRetention: settings.logRetentionDays as logs.RetentionDays | undefined,
      notificationEmails: settings.notificationEmails,
      notifyOnSuccess: settings.notifyOnSuccess,
      overdueAfter:
        settings.overdueAfterHours === undefined ? undefined : Duration.hours(settings.overdueAfterHours),
      pendingMaxAge:
        settings.pendingMaxAgeHours === undefined ? undefined : Duration.hours(settings.pendingMaxAgeHours),
      // ARNs as given: the construct's validation names a bad one (`operatorPrincipals[i]=...`).
      operatorPrincipals: settings.operatorPrincipals?.map((arn) => new iam.ArnPrincipal(arn)),
    });

    const rotation = this.rotation;
    const output = (id: string, value: string | undefined, description: string) => {
      if (value !== undefined) new CfnOutput(this, id, { value, description });
    };
    output(
      STACK_OUTPUTS.rotatedSecret,
      rotation.rotatedSecret.secretArn,
      'The Stripe key in service (AWSCURRENT). Apps read it here; "Rotate secret immediately" starts a rotation.',
    );
    output(
      STACK_OUTPUTS.stagedKeySecret,
      rotation.stagedKeySecret.secretArn,
      `Write the next Stripe key here before a rotation ("${NOTHING_STAGED.placeholder}" = nothing staged).`,
    );
    output(
      STACK_OUTPUTS.masterApiKeySecret,
      rotation.masterApiKeySecret.secretArn,
      'The X-API-Key the sites accept; replace the generated placeholder with the real master key.',
    );
    output(
      STACK_OUTPUTS.sitesParameter,
      rotation.sitesParameterName,
      'SSM parameter (or path ending in /) listing the sites, one https URL per line.',
    );
    output(
      STACK_OUTPUTS.keyMode,
      settings.keyMode,
      'test or live: the mode of every key this deployment rotates (the CLI refuses a key of the other mode).',
    );
    output('RotationFunctionName', rotation.rotationFunction.functionName, 'The rotation Lambda function.');
    output(
      STACK_OUTPUTS.ledgerTable,
      rotation.ledgerTable.tableName,
      'DynamoDB propagation ledger: rotation history, per-site results, what each site holds (README).',
    );
    output(
      'RotationLogGroupName',
      rotation.logGroup.logGroupName,
      'Logs of every rotation step and per-site result.',
    );
    output(
      'NotificationsTopicArn',
      rotation.notificationsTopic.topicArn,
      'Failed, abandoned and failed-test rotations plus the errors alarm; subscribe here.',
    );
    output(
      'NotificationPathTopicArn',
      rotation.notificationPathTopic?.topicArn,
      'Alarms on the notification path itself (undelivered notices, dead letters); subscribe a pager here too.',
    );
    output('ErrorsAlarmName', rotation.errorsAlarm?.alarmName, 'Alarm on rotation function errors.');
    // The name given (namePrefix above), rather than the Ref CloudFormation resolves to the same.
    const dashboard = rotation.dashboard === undefined ? undefined : serviceName;
    output('DashboardName', dashboard, 'CloudWatch dashboard: rotation outcomes and site counts.');
    output(
      'DashboardUrl',
      dashboard &&
        `https://console.aws.amazon.com/cloudwatch/home?region=${this.region}#dashboards:name=${dashboard}`,
      'Link to the dashboard.',
    );
    output(
      'OperatorPolicyArn',
      rotation.operatorPolicy?.managedPolicyArn,
      "Managed policy with exactly what the CLI's status, plan, rotate and abort need: attach it to operators.",
    );
    if (this.encryptionKey !== undefined) {
      output('EncryptionKeyArn', this.encryptionKey.keyArn, 'Customer managed key of the secrets.');
    }
  }

  private existingSecret(id: string, existing?: ExistingSecretSettings): secretsmanager.ISecret | undefined {
    if (existing === undefined) return undefined;
    return secretsmanager.Secret.fromSecretAttributes(this, id, {
      secretCompleteArn: existing.arn,
      encryptionKey:
        existing.kmsKeyArn === undefined
          ? undefined
          : kms.Key.fromKeyArn(this, `${id}Key`, existing.kmsKeyArn),
    });
  }

  private existingLedgerTable(existing?: ExistingTableSettings): dynamodb.ITable | undefined {
    if (existing === undefined) return undefined;
    return dynamodb.Table.fromTableAttributes(this, 'LedgerTable', {
      tableName: existing.name,
      encryptionKey:
        existing.kmsKeyArn === undefined
          ? undefined
          : kms.Key.fromKeyArn(this, 'LedgerTableKey', existing.kmsKeyArn),
    });
  }

  private siteList(settings: EnvironmentSettings): SiteListParameter | undefined {
    const list = settings.siteList;
    if (list === undefined) return undefined;
    const decryptionKey =
      list.kmsKeyArn === undefined ? undefined : kms.Key.fromKeyArn(this, 'SiteListKey', list.kmsKeyArn);
    return 'path' in list
      ? SiteListParameter.fromPath(list.path, { decryptionKey })
      : SiteListParameter.fromName(list.name, { decryptionKey });
  }
}

function schedule(settings: EnvironmentSettings): KeyRotationSchedule | undefined {
  const expression = settings.schedule;
  if (expression === undefined) return undefined;
  if (expression.startsWith('cron(')) {
    return KeyRotationSchedule.cron(expression, Duration.hours(settings.scheduleWindowHours ?? 0));
  }
  const rate = /^rate\((\d+) (hours?|days?)\)$/.exec(expression);
  if (!rate) {
    throw new ConfigurationError(
      `environments.${settings.name}.schedule=${JSON.stringify(expression)}: expected cron(...) or rate(N hours|days)`,
    );
  }
  const amount = Number(rate[1]);
  return KeyRotationSchedule.every(
    rate[2]?.startsWith('day') ? Duration.days(amount) : Duration.hours(amount),
  );
}
