/**
 * Builds the CDK app: one stack per environment of the `environments` context (or only the one named by
 * `-c environment=<name>`), checked by cdk-nag's AWS Solutions and Serverless packs; any unacknowledged finding
 * fails synth.
 */
import { type App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';
import { readEnvironments } from './config.js';
import { StripeKeyRotatorStack } from './stripe-key-rotator-stack.js';

export interface AppDefaults {
  /** Used when an environment names no account (the CLI's CDK_DEFAULT_ACCOUNT). */
  readonly account?: string;
  readonly region?: string;
}

export function buildApp(app: App, defaults: AppDefaults = {}): StripeKeyRotatorStack[] {
  const environments = readEnvironments(
    app.node.tryGetContext('environments'),
    app.node.tryGetContext('environment'),
  );
  const stacks = environments.map(
    (settings) =>
      new StripeKeyRotatorStack(app, `StripeKeyRotator-${settings.name}`, {
        settings,
        env: { account: settings.account ?? defaults.account, region: settings.region ?? defaults.region },
      }),
  );
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app), new ServerlessChecks(app));
  return stacks;
}
