import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';
import { PaymentsStack } from '../lib/payments-stack.js';

const app = new App();
new PaymentsStack(app, 'Payments', { env: { account: '123456789012', region: 'eu-west-3' } });
// Any unacknowledged AWS Solutions or Serverless finding fails synthesis.
Validations.of(app).addPlugins(new AwsSolutionsChecks(app), new ServerlessChecks(app));
