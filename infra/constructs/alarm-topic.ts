import { Alarm, ComparisonOperator, TreatMissingData, type IMetric } from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import { Topic, type ITopic } from 'aws-cdk-lib/aws-sns';
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

export interface ThresholdAlarmProps {
  readonly alarmName: string;
  readonly alarmDescription: string;
  readonly metric: IMetric;
  readonly threshold: number;
  /** Notified on ALARM and on OK. */
  readonly topic?: ITopic;
}

/**
 * The stack's one kind of alarm: at `threshold` or more in a single period, no data counted as
 * nothing wrong (no requests, no messages), the topic told when it fires and when it clears.
 */
export function thresholdAlarm(scope: Construct, id: string, props: ThresholdAlarmProps): Alarm {
  const alarm = new Alarm(scope, id, {
    alarmName: props.alarmName,
    alarmDescription: props.alarmDescription,
    metric: props.metric,
    threshold: props.threshold,
    evaluationPeriods: 1,
    comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
    treatMissingData: TreatMissingData.NOT_BREACHING,
  });
  if (props.topic) {
    alarm.addAlarmAction(new SnsAction(props.topic));
    alarm.addOkAction(new SnsAction(props.topic));
  }
  return alarm;
}
