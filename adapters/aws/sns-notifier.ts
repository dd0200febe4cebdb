/** The success notice's adapter: one SNS Publish to the deployment's notifications topic. */
import { PublishCommand, type SNSClient } from '@aws-sdk/client-sns';
import type { Notifier } from '../../core/index.js';

/** SNS caps a subject at 100 characters. */
const MAX_SUBJECT = 100;

export class SnsNotifier implements Notifier {
  constructor(
    private readonly client: SNSClient,
    private readonly topicArn: string,
  ) {}

  async notify(subject: string, message: string): Promise<void> {
    await this.client.send(
      new PublishCommand({
        TopicArn: this.topicArn,
        Subject: subject.slice(0, MAX_SUBJECT),
        Message: message,
      }),
    );
  }
}
