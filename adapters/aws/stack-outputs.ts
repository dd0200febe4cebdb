/** A deployed stack's outputs (DescribeStacks), for `--stack`. The CloudFormation client loads on first use. */
import { ConfigurationError, type StackOutputsReader } from '../../core/index.js';
import { type CallDeadline, withCallDeadline } from './deadline.js';

export class CloudFormationStackOutputs implements StackOutputsReader {
  constructor(
    private readonly clientConfig: () => Record<string, unknown>,
    private readonly deadline: CallDeadline,
    private readonly explain: (error: unknown, doing: string) => unknown,
    private readonly stop?: AbortSignal,
  ) {}

  async read(stack: string): Promise<ReadonlyMap<string, string>> {
    // Loaded only when --stack is given: the other commands start without it.
    const { CloudFormationClient, DescribeStacksCommand } = await import('@aws-sdk/client-cloudformation');
    const client = withCallDeadline(
      new CloudFormationClient(this.clientConfig()),
      'CloudFormation',
      this.deadline,
      this.stop,
    );
    try {
      const answer = await client
        .send(new DescribeStacksCommand({ StackName: stack }))
        .catch(async (error: unknown) => {
          // CloudFormation's answer for an unknown stack: a ValidationError saying it does not exist.
          if (
            error instanceof Error &&
            error.name === 'ValidationError' &&
            /does not exist/.test(error.message)
          ) {
            throw new ConfigurationError(
              `--stack ${stack}: no such stack in ${await client.config.region()}; ` +
                'check the name (cdk deploy prints it) and --region / AWS_REGION',
              { cause: error },
            );
          }
          throw this.explain(error, `Reading the outputs of stack ${stack}`);
        });
      return new Map(
        (answer.Stacks?.[0]?.Outputs ?? []).flatMap(({ OutputKey, OutputValue }) =>
          OutputKey === undefined || OutputValue === undefined ? [] : [[OutputKey, OutputValue]],
        ),
      );
    } finally {
      client.destroy();
    }
  }
}
