import { Topic } from 'aws-cdk-lib/aws-sns';
import { EmailSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import { Construct } from 'constructs';

export interface AlarmTopicProps {
  /** An address to subscribe; it receives a confirmation mail first. */
  readonly email?: string;
}

/**
 * The SNS topic every alarm notifies (on ALARM and on OK). Publishers must use TLS (`enforceSSL`).
 * Subscribe a pager, a chat integration or an address (`-c alarmEmail=...`).
 */
export class AlarmTopic extends Construct {
  readonly topic: Topic;

  constructor(scope: Construct, id: string, props: AlarmTopicProps = {}) {
    super(scope, id);
    this.topic = new Topic(this, 'Topic', {
      displayName: 'Signed callback receivers alarms',
      enforceSSL: true,
    });
    if (props.email) this.topic.addSubscription(new EmailSubscription(props.email));
  }
}
