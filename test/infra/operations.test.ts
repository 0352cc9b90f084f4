import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { Match } from 'aws-cdk-lib/assertions';
import { CONSUMER_RETRY } from '../../infra/constructs/example-consumer.js';
import { PROJECT_ROOT } from '../../infra/constructs/function-bundle.js';
import { OUTCOME_METRICS, UNVERIFIED_OUTCOMES } from '../../infra/constructs/operations-dashboard.js';
import { DEFAULT_SETTINGS, settingsFromContext } from '../../infra/settings.js';
import { PROVIDER_IDS, PROVIDERS, replayRuleOf, type ProviderDefinition } from '../../shared/providers.js';
import { logicalId, referencedIds, synthStack, type Synthesised } from './support.js';

type Resource = { Type: string; Properties: Record<string, any>; DeletionPolicy?: string };

const providers = PROVIDER_IDS.map((id) => PROVIDERS[id] as ProviderDefinition);
const webhookProviders = providers.filter((p) => p.kind === 'webhook');

let plain: Synthesised;
let withConsumer: Synthesised;
beforeAll(() => {
  plain = synthStack();
  withConsumer = synthStack({ settings: { exampleConsumer: true } });
});

const resources = (synth: Synthesised, type: string) => synth.template.findResources(type) as Record<string, Resource>;

describe('archive of the webhook bus (npm run replay reads it)', () => {
  it('archives every webhooks.* source on the bus, 30 days by default, named after the stack', () => {
    const archives = Object.values(resources(plain, 'AWS::Events::Archive'));
    expect(archives).toHaveLength(1);
    const archive = archives[0]!.Properties;
    expect(archive.EventPattern).toEqual({ source: [{ prefix: 'webhooks.' }] });
    expect(archive.RetentionDays).toBe(DEFAULT_SETTINGS.archiveRetentionDays);
    expect(DEFAULT_SETTINGS.archiveRetentionDays).toBe(30);
    expect(archive.ArchiveName).toBe('SignedCallbackReceivers-webhooks');
    expect(referencedIds(archive.SourceArn)).toEqual([logicalId(plain.stack.eventBus!)]);
  });

  it('names the archive in an output, where replay looks for it', () => {
    plain.template.hasOutput('WebhookArchiveName', { Value: Match.anyValue() });
  });

  it('archiveRetentionDays from context sets the retention; a bad value fails the synth with a message', () => {
    const parsed = settingsFromContext({ archiveRetentionDays: '90' });
    expect(parsed).toMatchObject({ ok: true, settings: { archiveRetentionDays: 90 } });
    const synth = synthStack({ settings: { archiveRetentionDays: 90, providers: ['buddystat'] } });
    synth.template.hasResourceProperties('AWS::Events::Archive', { RetentionDays: 90 });
    expect(settingsFromContext({ archiveRetentionDays: 'forever' })).toEqual({ ok: false, errors: ['archiveRetentionDays: expected a positive integer'] });
  });

  it('no webhook provider deployed: no bus, so no archive', () => {
    const synth = synthStack({ settings: { providers: ['buddy', 'helper'] } });
    synth.template.resourceCountIs('AWS::Events::Archive', 0);
    expect(synth.template.findOutputs('WebhookArchiveName')).toEqual({});
  });
});

describe('example consumer (-c exampleConsumer=true)', () => {
  it('is off by default: no rule, queue or consumer alarm', () => {
    expect(DEFAULT_SETTINGS.exampleConsumer).toBe(false);
    // The only rule is the redrive's schedule.
    plain.template.resourceCountIs('AWS::Events::Rule', 1);
    plain.template.resourceCountIs('AWS::SQS::Queue', 0);
  });

  it('the context flag takes true/false as -c passes them and refuses anything else', () => {
    expect(settingsFromContext({ exampleConsumer: 'true' })).toMatchObject({ ok: true, settings: { exampleConsumer: true } });
    expect(settingsFromContext({ exampleConsumer: false })).toMatchObject({ ok: true, settings: { exampleConsumer: false } });
    expect(settingsFromContext({ exampleConsumer: 'yes' })).toEqual({ ok: false, errors: ['exampleConsumer: expected true or false'] });
  });

  it.each(webhookProviders.map((p) => [p.id, p] as const))(
    '%s: one rule on the webhook bus matching its source, to its queue with the explicit retry policy and the DLQ',
    (id, provider) => {
      const channel = withConsumer.stack.exampleConsumer!.channels.find((c) => c.provider.id === id)!;
      const rule = resources(withConsumer, 'AWS::Events::Rule')[logicalId(channel.rule)]!;
      expect(rule.Properties.EventPattern).toEqual({ source: [`webhooks.${provider.id}`] });
      expect(referencedIds(rule.Properties.EventBusName)).toEqual([logicalId(withConsumer.stack.eventBus!)]);
      expect(rule.Properties.Targets).toHaveLength(1);
      const [target] = rule.Properties.Targets;
      expect(referencedIds(target.Arn)).toEqual([logicalId(channel.queue)]);
      expect(target.RetryPolicy).toEqual({
        MaximumRetryAttempts: CONSUMER_RETRY.retryAttempts,
        MaximumEventAgeInSeconds: CONSUMER_RETRY.maxEventAge.toSeconds(),
      });
      expect(referencedIds(target.DeadLetterConfig.Arn)).toEqual([logicalId(channel.deadLetterQueue)]);
    },
  );

  it.each(webhookProviders.map((p) => [p.id] as const))('%s: queue and DLQ encrypted; the queue redrives to the DLQ after maxReceiveCount', (id) => {
    const channel = withConsumer.stack.exampleConsumer!.channels.find((c) => c.provider.id === id)!;
    const queues = resources(withConsumer, 'AWS::SQS::Queue');
    const queue = queues[logicalId(channel.queue)]!.Properties;
    const dlq = queues[logicalId(channel.deadLetterQueue)]!.Properties;
    expect(queue.SqsManagedSseEnabled).toBe(true);
    expect(dlq.SqsManagedSseEnabled).toBe(true);
    expect(queue.RedrivePolicy.maxReceiveCount).toBe(CONSUMER_RETRY.maxReceiveCount);
    expect(referencedIds(queue.RedrivePolicy.deadLetterTargetArn)).toEqual([logicalId(channel.deadLetterQueue)]);
    expect(dlq.MessageRetentionPeriod).toBe(CONSUMER_RETRY.deadLetterRetention.toSeconds());
  });

  it.each(webhookProviders.map((p) => [p.id] as const))('%s: both queues refuse requests without TLS; only its rule may send to them', (id) => {
    const channel = withConsumer.stack.exampleConsumer!.channels.find((c) => c.provider.id === id)!;
    const policies = Object.values(resources(withConsumer, 'AWS::SQS::QueuePolicy'));
    for (const queue of [channel.queue, channel.deadLetterQueue]) {
      const statements = policies
        .filter((p) => referencedIds(p.Properties.Queues).includes(logicalId(queue)))
        .flatMap((p) => p.Properties.PolicyDocument.Statement as Record<string, any>[]);
      expect(statements).toContainEqual(
        expect.objectContaining({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } }, Principal: { AWS: '*' } }),
      );
      const allows = statements.filter((s) => s.Effect === 'Allow');
      expect(allows).toHaveLength(1);
      expect(allows[0]).toMatchObject({ Principal: { Service: 'events.amazonaws.com' } });
      expect([allows[0]!.Action].flat()).toContain('sqs:SendMessage');
      expect(referencedIds(allows[0]!.Condition.ArnEquals['aws:SourceArn'])).toEqual([logicalId(channel.rule)]);
    }
  });

  it.each(webhookProviders.map((p) => [p.id] as const))('%s: an alarm on the DLQ depth notifies the alarm topic on the first message', (id) => {
    const channel = withConsumer.stack.exampleConsumer!.channels.find((c) => c.provider.id === id)!;
    const alarm = resources(withConsumer, 'AWS::CloudWatch::Alarm')[logicalId(channel.deadLetterAlarm)]!.Properties;
    expect(alarm).toMatchObject({
      AlarmName: `SignedCallbackReceivers-${id}-consumer-dead-letters`,
      Namespace: 'AWS/SQS',
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
    });
    expect(referencedIds(alarm.Dimensions)).toEqual([logicalId(channel.deadLetterQueue)]);
    const topic = logicalId(withConsumer.stack.alarmTopic.topic);
    expect(alarm.AlarmActions).toEqual([{ Ref: topic }]);
  });

  it('one channel per webhook provider deployed, none for lookups; outputs name each queue', () => {
    expect(withConsumer.stack.exampleConsumer!.channels.map((c) => c.provider.id)).toEqual(webhookProviders.map((p) => p.id));
    // One per channel, and the redrive's schedule.
    withConsumer.template.resourceCountIs('AWS::Events::Rule', webhookProviders.length + 1);
    withConsumer.template.resourceCountIs('AWS::SQS::Queue', 2 * webhookProviders.length);
    withConsumer.template.hasOutput('BullseyeDeadLetterQueueUrl', {});
    withConsumer.template.hasOutput('BuddystatConsumerQueueUrl', {});
  });
});

/** The dashboard body with CloudFormation references turned into plain placeholders, parsed. */
function dashboardBody(synth: Synthesised): { widgets: { type: string; properties: Record<string, any> }[] } {
  const [dashboard] = Object.values(resources(synth, 'AWS::CloudWatch::Dashboard'));
  const body = dashboard!.Properties.DashboardBody;
  const text = typeof body === 'string' ? body : (body['Fn::Join'][1] as unknown[]).map((part) => (typeof part === 'string' ? part : 'REF')).join('');
  return JSON.parse(text);
}

/** Metric names a graph widget plots, `[namespace, name, ...dimensions]` arrays as the body writes them. */
function metricNames(widget: { properties: Record<string, any> }): string[] {
  return ((widget.properties.metrics ?? []) as unknown[][]).map((m) => `${m[0]}/${m[1]}`);
}

describe('operations dashboard', () => {
  const namespace = 'SignedCallbacks/SignedCallbackReceivers';

  it('one dashboard named after the stack', () => {
    plain.template.resourceCountIs('AWS::CloudWatch::Dashboard', 1);
    plain.template.hasResourceProperties('AWS::CloudWatch::Dashboard', { DashboardName: 'SignedCallbackReceivers-operations' });
  });

  it.each(providers.map((p) => [p.id, p] as const))('%s: a row of four graphs, headed by its title and routes', (id, provider) => {
    const { widgets } = dashboardBody(plain);
    const header = widgets.findIndex((w) => w.type === 'text' && String(w.properties.markdown).startsWith(`## ${provider.title}`));
    expect(header).toBeGreaterThan(0);
    const row = widgets.slice(header + 1, header + 5);
    expect(row.map((w) => w.type)).toEqual(['metric', 'metric', 'metric', 'metric']);
    // Side by side, one row.
    expect(new Set(row.map((w) => (w as any).y)).size).toBe(1);
    expect(row[0]!.properties.title).toBe(`${provider.title}: requests by outcome`);
    expect(row.map((w) => w.properties.title).slice(1)).toEqual([`${id}: latency (ms)`, `${id}: throttles and concurrency`, expect.stringMatching(new RegExp(`^${id}: secrets`))]);
  });

  it.each(providers.map((p) => [p.id, p] as const))('%s: requests by outcome, with the words the log line writes', (id, provider) => {
    const { widgets } = dashboardBody(plain);
    const outcomes = widgets.find((w) => w.properties.title === `${provider.title}: requests by outcome`)!;
    const expected = ['Verified', 'RejectedSignature', ...(replayRuleOf(provider) ? ['ReplayedOrStale'] : []), ...(provider.kind === 'webhook' ? ['Duplicate', 'Forwarded', 'Parked'] : []), 'ServerErrorAnswers'];
    expect(metricNames(outcomes)).toEqual(expected.map((name) => `${namespace}/${id}.${name}`));
  });

  it.each(providers.map((p) => [p.id, p] as const))('%s: latency p50/p99, throttles and concurrency, Secrets Manager refreshes (and PutEvents failures for webhooks)', (id, provider) => {
    const { widgets } = dashboardBody(plain);
    const byTitle = (title: string) => widgets.find((w) => w.properties.title === title)!;
    const latency = byTitle(`${id}: latency (ms)`);
    expect(metricNames(latency)).toEqual([`${namespace}/${id}.LatencyMs`, `${namespace}/${id}.LatencyMs`, 'AWS/Lambda/Duration']);
    expect((latency.properties.metrics as unknown[][]).map((m) => (m.at(-1) as { stat: string }).stat)).toEqual(['p50', 'p99', 'p99']);
    expect(metricNames(byTitle(`${id}: throttles and concurrency`))).toEqual(['AWS/Lambda/Throttles', 'AWS/Lambda/ConcurrentExecutions']);
    const secrets = widgets.find((w) => String(w.properties.title).startsWith(`${id}: secrets`))!;
    expect(metricNames(secrets)).toEqual([
      `${namespace}/${id}.SecretRefreshes`,
      `${namespace}/${id}.SecretRefreshFailures`,
      ...(provider.kind === 'webhook' ? [`${namespace}/${id}.PutEventsFailures`] : []),
    ]);
  });

  it('every metric the dashboard plots from the namespace is published by a metric filter in the stack', () => {
    const published = new Set(Object.values(resources(plain, 'AWS::Logs::MetricFilter')).flatMap((f) => f.Properties.MetricTransformations.map((t: any) => `${t.MetricNamespace}/${t.MetricName}`)));
    const plotted = dashboardBody(plain).widgets.flatMap(metricNames).filter((name) => name.startsWith(namespace));
    expect(plotted.length).toBeGreaterThan(0);
    for (const name of plotted) expect(published, name).toContain(name);
  });

  it('outcome filters count request lines only (numeric status) and read the outcome field', () => {
    const filters = Object.values(resources(plain, 'AWS::Logs::MetricFilter')).filter((f) => f.Properties.MetricTransformations[0].MetricName === 'buddystat.Forwarded');
    expect(filters).toHaveLength(1);
    expect(filters[0]!.Properties.FilterPattern).toBe('{ ($.status > 0) && ($.outcome = "forwarded*") }');
    const verified = Object.values(resources(plain, 'AWS::Logs::MetricFilter')).find((f) => f.Properties.MetricTransformations[0].MetricName === 'buddy.Verified')!;
    for (const word of UNVERIFIED_OUTCOMES) expect(verified.Properties.FilterPattern).toContain(`$.outcome != "${word}"`);
    const latency = Object.values(resources(plain, 'AWS::Logs::MetricFilter')).find((f) => f.Properties.MetricTransformations[0].MetricName === 'talki.LatencyMs')!;
    expect(latency.Properties.MetricTransformations[0].MetricValue).toBe('$.latencyMs');
  });

  it('the outcome words the filters match are the ones the code writes (a renamed outcome breaks this, not the dashboard)', () => {
    const source = ['shared/handler.ts', 'shared/webhook.ts', 'shared/events/forward.ts', 'shared/signing/replay.ts', 'shared/secrets/cache.ts', 'functions/webhook/handler.ts']
      .map((file) => readFileSync(join(PROJECT_ROOT, file), 'utf8'))
      .join('\n');
    const words = [...UNVERIFIED_OUTCOMES, 'duplicate', 'forwarded', 'sink_failed', 'sink_timeout', 'secret_loaded', 'secret_stale_served', 'secret_unavailable'];
    for (const word of words) {
      const literal = word.endsWith('_*') ? `\`${word.slice(0, -1)}\${` : `'${word}'`;
      expect(source, word).toContain(literal);
    }
    expect(OUTCOME_METRICS.map((m) => m.label)).toEqual(['verified', 'rejected signature', 'replayed/stale', 'duplicate', 'forwarded', 'parked', 'PutEvents failed']);
  });
});
