import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { mockClient } from 'aws-sdk-client-mock';
import { describe, expect, it } from 'vitest';
import { SnsNotifier } from '../../adapters/aws/sns-notifier.js';

const TOPIC = 'arn:aws:sns:eu-west-1:123456789012:notifications';

describe('the SNS notifier', () => {
  it('publishes the subject and message to its topic', async () => {
    const sns = mockClient(SNSClient);
    sns.on(PublishCommand).resolves({ MessageId: 'm-1' });

    await new SnsNotifier(new SNSClient({ region: 'eu-west-1' }), TOPIC).notify('Subject', 'Message');

    expect(sns.commandCalls(PublishCommand).map((call) => call.args[0].input)).toEqual([
      { TopicArn: TOPIC, Subject: 'Subject', Message: 'Message' },
    ]);
    sns.restore();
  });

  it('cuts a subject to the 100 characters SNS accepts', async () => {
    const sns = mockClient(SNSClient);
    sns.on(PublishCommand).resolves({});

    await new SnsNotifier(new SNSClient({ region: 'eu-west-1' }), TOPIC).notify('x'.repeat(150), 'Message');

    expect(sns.commandCalls(PublishCommand)[0]?.args[0].input.Subject).toHaveLength(100);
    sns.restore();
  });
});
