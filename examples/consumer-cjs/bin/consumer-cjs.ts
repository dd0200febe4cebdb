#!/usr/bin/env node
/**
 * A CommonJS CDK app as `cdk init app --language typescript` generates it (no "type" in package.json, so
 * this file compiles to require() calls), with the rotation added. Both cdk-nag packs run on synthesis:
 * any unacknowledged finding fails it.
 */
import * as cdk from 'aws-cdk-lib/core';
import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';
import { CheckoutStack } from '../lib/consumer-cjs-stack';

const app = new cdk.App();
new CheckoutStack(app, 'Checkout', { env: { account: '123456789012', region: 'us-east-1' } });
cdk.Validations.of(app).addPlugins(new AwsSolutionsChecks(app), new ServerlessChecks(app));
