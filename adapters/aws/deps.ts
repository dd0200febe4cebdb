/**
 * The one wiring of the AWS side, for the rotation function and the CLI alike: SDK clients (region, profile;
 * AWS_ENDPOINT_URL is honoured by the SDK itself), each call bounded by the AWS call deadline, the one
 * Secrets Manager store, the SSM site list, the DynamoDB ledger, the SNS notifier and the stack outputs
 * reader. Clients are built on first use: a command builds only what it calls.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SNSClient } from '@aws-sdk/client-sns';
import { SSMClient } from '@aws-sdk/client-ssm';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import {
  AWS_CALL_DEADLINE_MS,
  AWS_CLIENT_CONFIG,
  ConfigurationError,
  createSiteServices,
  type ExplainFailure,
  type RotationDeps,
  type RotationLedger,
  type RotationLogger,
  type RotationMetrics,
  type RotatorConfig,
  type SiteServices,
  type StackOutputsReader,
} from '../../core/index.js';
import { type CallDeadline, withCallDeadline } from './deadline.js';
import { DynamoDbLedger } from './dynamodb-ledger.js';
import { explainAwsFailure } from './failures.js';
import { SecretsManagerStore } from './secrets-manager.js';
import { SnsNotifier } from './sns-notifier.js';
import { SsmSiteListSource } from './ssm-site-list.js';
import { CloudFormationStackOutputs } from './stack-outputs.js';

type Env = Readonly<Record<string, string | undefined>>;

// biome-ignore lint/suspicious/noExplicitAny: any SDK client's overloaded `send`.
type SdkClient = { destroy(): void; send(command: any, options?: any): Promise<any> };

/** What every client is built with: the bounds of AWS_CLIENT_CONFIG, and the region and profile given. */
export type ClientOptions = typeof AWS_CLIENT_CONFIG & { region?: string; profile?: string };

export interface AwsDepsOptions {
  readonly region?: string | undefined;
  /** A named profile: the SDK's own client option, equivalent to AWS_PROFILE. */
  readonly profile?: string | undefined;
  /** Where AWS_ENDPOINT_URL is read for checks and messages. @default process.env */
  readonly env?: Env;
  /** The most one call may take, retries included. @default AWS_CALL_DEADLINE_MS */
  readonly callDeadlineMs?: number;
  /**
   * Milliseconds the caller has left (the Lambda invocation's remaining time, less a margin to record the
   * failure), or undefined outside an invocation: no call outlives it.
   */
  readonly remainingTimeMs?: () => number | undefined;
  /** Aborted: every call ends at once (an operator's interrupt), whatever its deadline. */
  readonly signal?: AbortSignal | undefined;
  /** Clients to use instead of building them (tests, endpoint-bound clients); bounded all the same. */
  readonly clients?: {
    readonly secretsManager?: SecretsManagerClient;
    readonly ssm?: SSMClient;
    readonly dynamodb?: DynamoDBClient;
    readonly sns?: SNSClient;
  };
}

export interface RotationWiring {
  readonly config: RotatorConfig;
  readonly logger: RotationLogger;
  readonly metrics: RotationMetrics;
  /** PEM of a CA trusted instead of the default roots, for the sites and Stripe (tests, the simulated fleet). */
  readonly ca?: string | undefined;
  /** Replaces the DynamoDB ledger entirely (tests focused on HTTP, local runs). */
  readonly ledger?: RotationLedger | undefined;
}

export interface AwsDeps {
  /** The one Secrets Manager store: the rotated secret, the secrets read alongside, the staged key. */
  readonly secrets: SecretsManagerStore;
  siteList(parameter: string): SsmSiteListSource;
  ledger(tableName: string): DynamoDbLedger;
  notifier(topicArn: string): SnsNotifier;
  readonly stackOutputs: StackOutputsReader;
  /** Rewords an AWS failure an operator can fix as a ConfigurationError naming what was being done. */
  readonly explain: ExplainFailure;
  /** The rotation's dependencies over these adapters, the Stripe check and the fleet push included. */
  rotationDeps(wiring: RotationWiring): { readonly deps: RotationDeps; readonly services: SiteServices };
  /**
   * The client of any other service (doctor's read-only probes), built and bounded as these are: the same
   * options, call deadline and interrupt, one per service, ended by destroy().
   */
  client<C extends SdkClient>(make: new (options: ClientOptions) => C): C;
  /** Ends every client's connections, so nothing keeps the process alive (the CLI). */
  destroy(): void;
}

export function createDeps(options: AwsDepsOptions = {}): AwsDeps {
  const env = options.env ?? process.env;
  const endpoint = nonEmpty(env.AWS_ENDPOINT_URL);
  const clientOptions: ClientOptions = {
    ...AWS_CLIENT_CONFIG,
    ...(options.region === undefined ? {} : { region: options.region }),
    ...(options.profile === undefined ? {} : { profile: options.profile }),
  };
  // Checked when a client is first built: the SDK would report a malformed endpoint as a TypeError.
  const config = () => {
    if (endpoint !== undefined && !URL.canParse(endpoint)) {
      throw new ConfigurationError(
        `AWS_ENDPOINT_URL=${JSON.stringify(endpoint.slice(0, 200))} is not a URL: unset it, or give one such ` +
          'as https://secretsmanager.eu-west-3.amazonaws.com',
      );
    }
    return clientOptions;
  };
  const callMs = options.callDeadlineMs ?? AWS_CALL_DEADLINE_MS;
  const deadline: CallDeadline = () => {
    const remaining = options.remainingTimeMs?.();
    return remaining === undefined ? callMs : Math.min(callMs, remaining);
  };
  const built: { destroy(): void }[] = [];
  const lazy = <C extends { destroy(): void }>(make: () => C): (() => C) => {
    let client: C | undefined;
    return () => {
      if (client === undefined) {
        client = make();
        built.push(client);
      }
      return client;
    };
  };
  const given = options.clients ?? {};
  const bounded = <C extends SdkClient>(service: string, injected: C | undefined, make: () => C) =>
    lazy(() => withCallDeadline(injected ?? make(), service, deadline, options.signal));
  const secretsManager = bounded(
    'Secrets Manager',
    given.secretsManager,
    () => new SecretsManagerClient(config()),
  );
  const ssm = bounded('SSM', given.ssm, () => new SSMClient(config()));
  const sns = bounded('SNS', given.sns, () => new SNSClient(config()));
  const dynamodb = bounded('DynamoDB', given.dynamodb, () => new DynamoDBClient(config()));
  // The document client sends through its own stack, not the base client's `send`: bounded itself.
  const documents = lazy(() =>
    withCallDeadline(DynamoDBDocumentClient.from(dynamodb()), 'DynamoDB', deadline, options.signal),
  );
  const explain: ExplainFailure = (error, doing) =>
    explainAwsFailure(error, doing, {
      profile: options.profile ?? nonEmpty(env.AWS_PROFILE),
      endpoint,
      region: options.region ?? nonEmpty(env.AWS_REGION),
    });

  const others = new Map<new (options: ClientOptions) => SdkClient, () => SdkClient>();

  let store: SecretsManagerStore | undefined;
  const deps: AwsDeps = {
    get secrets() {
      store ??= new SecretsManagerStore(secretsManager());
      return store;
    },
    siteList: (parameter) => new SsmSiteListSource({ client: ssm(), parameter }),
    ledger: (tableName) => new DynamoDbLedger({ client: documents(), tableName }),
    notifier: (topicArn) => new SnsNotifier(sns(), topicArn),
    stackOutputs: new CloudFormationStackOutputs(config, deadline, explain, options.signal),
    explain,
    rotationDeps({ config: rotator, logger, metrics, ca, ledger }) {
      const services = createSiteServices({ config: rotator, logger, ...(ca === undefined ? {} : { ca }) });
      const topic = rotator.successNoticeTopicArn;
      return {
        services,
        deps: {
          config: rotator,
          secrets: deps.secrets,
          siteList: deps.siteList(rotator.sitesParameter),
          keyChecker: services.keyChecker,
          pusher: services.pusher,
          ledger: ledger ?? deps.ledger(rotator.ledgerTable),
          logger,
          metrics,
          ...(topic === undefined ? {} : { notifier: deps.notifier(topic) }),
        },
      };
    },
    client<C extends SdkClient>(make: new (options: ClientOptions) => C): C {
      let client = others.get(make);
      if (client === undefined) {
        // The service as its client names it (CloudFormationClient: CloudFormation), in error messages.
        client = bounded(make.name.replace(/Client$/, ''), undefined, () => new make(config()));
        others.set(make, client);
      }
      return client() as C;
    },
    destroy() {
      for (const client of built.splice(0)) client.destroy();
      others.clear();
    },
  };
  return deps;
}

function nonEmpty(value: string | undefined): string | undefined {
  const trimmed = value?.trim();
  return trimmed ? trimmed : undefined;
}
