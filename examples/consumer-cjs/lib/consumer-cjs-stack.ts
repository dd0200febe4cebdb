/**
 * A team's test-mode rotation with the construct's defaults (its own secrets, site list parameter and
 * topic), its checkout service reading the key in service, its developers operating rotations, and the
 * rotation's metrics on the team's own dashboard. Imports the package by name: require() loads it here.
 */
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as cdk from 'aws-cdk-lib/core';
import type { Construct } from 'constructs';
import { KeyMode, StripeKeyRotation } from 'stripe-key-rotator';

export class CheckoutStack extends cdk.Stack {
  readonly rotation: StripeKeyRotation;

  constructor(scope: Construct, id: string, props?: cdk.StackProps) {
    super(scope, id, props);

    this.rotation = new StripeKeyRotation(this, 'StripeTestKey', {
      keyMode: KeyMode.TEST,
      serviceName: 'checkout-stripe-test',
      notificationEmails: ['checkout-dev@example.com'],
    });

    const checkoutService = new iam.Role(this, 'CheckoutService', {
      assumedBy: new iam.ServicePrincipal('ecs-tasks.amazonaws.com'),
    });
    this.rotation.grantReadKey(checkoutService);

    const developers = new iam.Role(this, 'CheckoutDevelopers', {
      assumedBy: new iam.AccountPrincipal(this.account),
    });
    this.rotation.grantOperate(developers);

    new cloudwatch.Dashboard(this, 'CheckoutDashboard', {
      widgets: [
        [
          new cloudwatch.GraphWidget({
            title: 'Stripe test key pushes',
            left: [this.rotation.metricSitesConfirmed(), this.rotation.metricSitesFailed()],
          }),
        ],
      ],
    });
  }
}
