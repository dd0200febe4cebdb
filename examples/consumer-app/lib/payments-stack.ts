/**
 * A team's own stack adopting the rotation: its fleet listed under an SSM path, the staged key secret its
 * operators already use, its own alerts topic for every notice, its payment service reading the key in
 * service, its on-call role operating rotations, and an alarm of its own on the rotation's metrics.
 * Everything comes from the installed package, as any consumer would import it.
 */
import { Duration, Stack, type StackProps } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sns from 'aws-cdk-lib/aws-sns';
import type { Construct } from 'constructs';
import { KeyMode, KeyRotationSchedule, SiteListParameter, StripeKeyRotation } from 'stripe-key-rotator';

export class PaymentsStack extends Stack {
  readonly rotation: StripeKeyRotation;

  constructor(scope: Construct, id: string, props?: StackProps) {
    super(scope, id, props);

    const alerts = new sns.Topic(this, 'PaymentsAlerts', {
      masterKey: new kms.Key(this, 'PaymentsAlertsKey', { enableKeyRotation: true }),
      enforceSSL: true,
    });

    this.rotation = new StripeKeyRotation(this, 'StripeKey', {
      keyMode: KeyMode.LIVE,
      serviceName: 'payments-stripe',
      siteList: SiteListParameter.fromPath('/payments/sites/'),
      stagedKeySecret: secretsmanager.Secret.fromSecretCompleteArn(
        this,
        'StagedKey',
        `arn:aws:secretsmanager:${this.region}:${this.account}:secret:payments/staged-stripe-key-Ab12Cd`,
      ),
      schedule: KeyRotationSchedule.every(Duration.days(30)),
      notificationsTopic: alerts,
      notificationEmails: ['payments-oncall@example.com'],
    });

    const paymentService = new iam.Role(this, 'PaymentService', {
      assumedBy: new iam.ServicePrincipal('ecs-tasks.amazonaws.com'),
    });
    this.rotation.grantReadKey(paymentService);

    const onCall = new iam.Role(this, 'OnCall', { assumedBy: new iam.AccountPrincipal(this.account) });
    this.rotation.grantOperate(onCall);
    this.rotation.grantStageKey(onCall);

    new cloudwatch.Alarm(this, 'SitesFailedAlarm', {
      metric: this.rotation.metricSitesFailed(),
      threshold: 1,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      alarmDescription: 'A Stripe key push left at least one payments site without the new key.',
    });
  }
}
