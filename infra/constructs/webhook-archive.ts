import { CfnOutput, Duration, Stack } from 'aws-cdk-lib';
import { Archive, Match, type IEventBus } from 'aws-cdk-lib/aws-events';
import { Construct } from 'constructs';
import { EVENT_SOURCE_PREFIX } from '../../shared/events/event.js';

export interface WebhookArchiveProps {
  readonly eventBus: IEventBus;
  /** How long archived events stay replayable. */
  readonly retentionDays: number;
}

/**
 * An EventBridge archive of every verified webhook event (`source` starting `webhooks.`) on the
 * bus, so an operator can send a window of them again (`npm run replay`, ops/replay.ts) after a
 * consumer's outage. Its name is an output: the replay command finds the archive, its bus, its
 * retention and its creation time from it with one DescribeArchive.
 */
export class WebhookArchive extends Construct {
  readonly archive: Archive;
  readonly retentionDays: number;

  constructor(scope: Construct, id: string, props: WebhookArchiveProps) {
    super(scope, id);
    this.retentionDays = props.retentionDays;
    this.archive = new Archive(this, 'Archive', {
      sourceEventBus: props.eventBus,
      // Archive names are unique per account and region, at most 48 characters.
      archiveName: `${Stack.of(this).stackName}-webhooks`.slice(0, 48),
      description: `Verified webhook events (${EVENT_SOURCE_PREFIX}*), kept ${props.retentionDays} days for npm run replay`,
      eventPattern: { source: Match.prefix(EVENT_SOURCE_PREFIX) },
      retention: Duration.days(props.retentionDays),
    });
    new CfnOutput(this, 'WebhookArchiveName', {
      value: this.archive.archiveName,
      description: `EventBridge archive of every webhook event, ${props.retentionDays} days: npm run replay sends a window of it again`,
    }).overrideLogicalId('WebhookArchiveName');
  }
}
