import { CfnOutput, Duration, Stack, Validations } from 'aws-cdk-lib';
import type { Alarm } from 'aws-cdk-lib/aws-cloudwatch';
import { Rule, type IEventBus } from 'aws-cdk-lib/aws-events';
import { SqsQueue } from 'aws-cdk-lib/aws-events-targets';
import type { ITopic } from 'aws-cdk-lib/aws-sns';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { eventSourceOf } from '../../shared/events/event.js';
import type { ProviderDefinition } from '../../shared/providers.js';
import { thresholdAlarm } from './alarm-topic.js';

/**
 * How the example consumer's rules retry and when a message is given up on. Explicit rather than
 * EventBridge's defaults (185 attempts over 24 hours): a consumer's queue that refuses events for a
 * day should page someone long before, and the DLQ plus the archive hold everything meanwhile.
 */
export const CONSUMER_RETRY = {
  /** EventBridge's attempts to deliver one event to the queue after the first, with backoff. */
  retryAttempts: 8,
  /** An event not delivered to the queue within this goes to the DLQ. */
  maxEventAge: Duration.hours(2),
  /** A message the consumer received this many times without deleting it moves to the DLQ. */
  maxReceiveCount: 5,
  /** Dead letters wait the longest SQS allows for someone to look at them. */
  deadLetterRetention: Duration.days(14),
} as const;

export const CONSUMER_NAG_REASONS = {
  deadLetterQueueHasNoRedrive:
    'This queue is itself the dead-letter queue of the example consumer: the rule target (events EventBridge could not deliver after its retry policy) and the consumer queue (messages received 5 times without being deleted) both send here. A dead-letter queue of a dead-letter queue would only move the same messages one step further; the DLQ-depth alarm pages on the first message instead, and it keeps them 14 days (the SQS maximum).',
} as const;

export interface ExampleConsumerProps {
  readonly eventBus: IEventBus;
  /** The webhook providers deployed: one rule, queue and dead-letter queue each. */
  readonly providers: readonly ProviderDefinition[];
  readonly alarmTopic?: ITopic;
}

/** One provider's share of the example: its rule on the bus, the queue it feeds, and their dead letters. */
export interface ConsumerChannel {
  readonly provider: ProviderDefinition;
  readonly rule: Rule;
  readonly queue: Queue;
  readonly deadLetterQueue: Queue;
  readonly deadLetterAlarm: Alarm;
}

function pascal(word: string): string {
  return word.charAt(0).toUpperCase() + word.slice(1);
}

/**
 * An example of consuming verified webhook events the way a team should (`-c exampleConsumer=true`):
 * per webhook provider a rule matching its source (`webhooks.<id>`) delivering to an SQS queue
 * with an explicit retry policy, and one dead-letter queue for everything that could not be
 * delivered or processed. Queues are encrypted (SQS-managed keys, which EventBridge can write to
 * without a key policy) and refuse requests without TLS; an alarm pages on the first dead letter.
 * docs/deploy.md shows how to put a Lambda function or a Step Functions state machine in the
 * queue's place with the same retry policy and DLQ.
 */
export class ExampleConsumer extends Construct {
  readonly channels: readonly ConsumerChannel[];

  constructor(scope: Construct, id: string, props: ExampleConsumerProps) {
    super(scope, id);
    const stackName = Stack.of(this).stackName;
    this.channels = props.providers
      .filter((provider) => provider.kind === 'webhook')
      .map((provider) => {
        const prefix = pascal(provider.id);
        const deadLetterQueue = new Queue(this, `${prefix}DeadLetters`, {
          encryption: QueueEncryption.SQS_MANAGED,
          enforceSSL: true,
          retentionPeriod: CONSUMER_RETRY.deadLetterRetention,
        });
        Validations.of(deadLetterQueue).acknowledge({ id: 'Serverless-SQSRedrivePolicy', reason: CONSUMER_NAG_REASONS.deadLetterQueueHasNoRedrive });
        const queue = new Queue(this, `${prefix}Queue`, {
          encryption: QueueEncryption.SQS_MANAGED,
          enforceSSL: true,
          deadLetterQueue: { queue: deadLetterQueue, maxReceiveCount: CONSUMER_RETRY.maxReceiveCount },
        });
        const rule = new Rule(this, `${prefix}Rule`, {
          eventBus: props.eventBus,
          description: `Example consumer: every ${provider.title} event to its queue (replayed events too)`,
          eventPattern: { source: [eventSourceOf(provider.id)] },
        });
        rule.addTarget(
          new SqsQueue(queue, {
            retryAttempts: CONSUMER_RETRY.retryAttempts,
            maxEventAge: CONSUMER_RETRY.maxEventAge,
            deadLetterQueue,
          }),
        );
        const deadLetterAlarm = thresholdAlarm(this, `${prefix}DeadLettersAlarm`, {
          alarmName: `${stackName}-${provider.id}-consumer-dead-letters`,
          alarmDescription: `${provider.title}: events the example consumer could not take are waiting in its dead-letter queue (EventBridge gave up delivering to the queue, or a message was received ${CONSUMER_RETRY.maxReceiveCount} times without being deleted). docs/deploy.md, "On call": read one, fix the cause, redrive.`,
          metric: deadLetterQueue.metricApproximateNumberOfMessagesVisible({ statistic: 'Maximum', period: Duration.minutes(5) }),
          threshold: 1,
          ...(props.alarmTopic ? { topic: props.alarmTopic } : {}),
        });
        new CfnOutput(this, `${prefix}ConsumerQueueUrl`, {
          value: queue.queueUrl,
          description: `Example consumer: ${provider.title} events arrive here`,
        }).overrideLogicalId(`${prefix}ConsumerQueueUrl`);
        new CfnOutput(this, `${prefix}DeadLetterQueueUrl`, {
          value: deadLetterQueue.queueUrl,
          description: `Example consumer: ${provider.title} events not delivered or not processed; redrive from the SQS console`,
        }).overrideLogicalId(`${prefix}DeadLetterQueueUrl`);
        return { provider, rule, queue, deadLetterQueue, deadLetterAlarm };
      });
  }
}
