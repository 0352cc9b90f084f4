import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import {
  DescribeArchiveCommand,
  DescribeReplayCommand,
  DescribeRuleCommand,
  EventBridgeClient,
  ListRulesCommand,
  ResourceNotFoundException,
  StartReplayCommand,
  TestEventPatternCommand,
} from '@aws-sdk/client-eventbridge';
import { mockClient } from 'aws-sdk-client-mock';
import { archiveFacts, parseReplayArgs, replayName, runReplay, windowRefusal, type ArchiveFacts, type ReplayArgs } from '../../ops/replay.js';
import { PROVIDER_IDS, PROVIDERS } from '../../shared/providers.js';

const NOW = new Date('2026-12-02T12:00:00Z');
const BUS_ARN = 'arn:aws:events:eu-west-1:123456789012:event-bus/SignedCallbackReceiversWebhookEvents1A2B3C';
const ARCHIVE_ARN = 'arn:aws:events:eu-west-1:123456789012:archive/SignedCallbackReceivers-webhooks';
const ARCHIVE: ArchiveFacts = { arn: ARCHIVE_ARN, busArn: BUS_ARN, state: 'ENABLED', retentionDays: 30, createdAt: new Date('2026-11-01T00:00:00Z') };

const args = (overrides: Partial<ReplayArgs> = {}): ReplayArgs => ({
  provider: PROVIDERS.bullseye,
  from: new Date('2026-12-01T09:00:00Z'),
  to: new Date('2026-12-01T10:00:00Z'),
  stack: 'SignedCallbackReceivers',
  allowRecent: false,
  pollMs: 0,
  ...overrides,
});

describe('replay arguments', () => {
  it('reads provider, type, window, rule, stack and poll interval', () => {
    const parsed = parseReplayArgs(['--provider', 'buddystat', '--type', 'goal.converted', '--from', '2026-12-01T09:00:00Z', '--to', '2026-12-01T10:30:00+01:00', '--rule', 'mine', '--stack', 'Staging', '--poll-seconds', '5']);
    expect(parsed).toEqual({
      ok: true,
      args: {
        provider: PROVIDERS.buddystat,
        type: 'goal.converted',
        from: new Date('2026-12-01T09:00:00Z'),
        to: new Date('2026-12-01T09:30:00Z'),
        rule: 'mine',
        stack: 'Staging',
        allowRecent: false,
        pollMs: 5000,
      },
    });
  });

  it.each([
    [[], '--provider is required'],
    [['--provider', 'nope', '--from', '2026-12-01T09:00:00Z', '--to', '2026-12-01T10:00:00Z'], 'unknown provider "nope"'],
    [['--provider', 'talki', '--from', '2026-12-01T09:00:00Z', '--to', '2026-12-01T10:00:00Z'], 'talki answers lookups; only webhook events reach the bus and its archive'],
    [['--provider', 'bullseye', '--from', '2026-12-01T09:00:00Z'], '--from and --to are required'],
    [['--provider', 'bullseye', '--from', '2026-12-01T09:00:00', '--to', '2026-12-01T10:00:00Z'], expect.stringMatching(/^--from: .* is not an ISO 8601 time with a zone/)],
    [['--provider', 'bullseye', '--from', 'yesterday', '--to', '2026-12-01T10:00:00Z'], expect.stringMatching(/^--from: "yesterday" is not an ISO 8601 time/)],
    [['--provider', 'bullseye', '--from', '2026-12-01T10:00:00Z', '--to', '2026-12-01T10:00:00Z'], '--from must be before --to'],
    [['--provider', 'bullseye', '--from', '2026-12-01T09:00:00Z', '--to', '2026-12-01T10:00:00Z', '--poll-seconds', 'often'], '--poll-seconds: expected a number of seconds'],
    [['--provider', 'bullseye', '--frm', 'x'], expect.stringMatching(/Unknown option '--frm'/)],
    [['bullseye', '--from', '2026-12-01T09:00:00Z', '--to', '2026-12-01T10:00:00Z'], 'unexpected argument "bullseye"'],
  ])('argument error %#: %s', (argv, error) => {
    expect(parseReplayArgs(argv as string[])).toEqual({ ok: false, help: false, error });
  });

  it('--help asks for the usage', () => {
    expect(parseReplayArgs(['--help'])).toEqual({ ok: false, help: true });
  });
});

describe('windows the archive cannot serve are refused', () => {
  const window = (from: string, to: string, allowRecent = false) => ({ from: new Date(from), to: new Date(to), allowRecent });

  it('a window inside the retention, after creation, older than 10 minutes: served', () => {
    expect(windowRefusal(window('2026-12-01T09:00:00Z', '2026-12-02T11:49:00Z'), ARCHIVE, NOW)).toBeUndefined();
  });

  it('ending in the future', () => {
    expect(windowRefusal(window('2026-12-02T11:00:00Z', '2026-12-02T13:00:00Z'), ARCHIVE, NOW)).toMatch(/--to 2026-12-02T13:00:00.000Z is in the future/);
  });

  it('starting before the archive existed', () => {
    const created = { ...ARCHIVE, createdAt: new Date('2026-11-30T08:00:00Z') };
    expect(windowRefusal(window('2026-11-29T00:00:00Z', '2026-12-01T00:00:00Z'), created, NOW)).toBe(
      'the archive was created at 2026-11-30T08:00:00.000Z: nothing before that was archived. Start at 2026-11-30T08:00:00.000Z or later',
    );
  });

  it('starting before the retention period (30 days by default)', () => {
    const old = { ...ARCHIVE, createdAt: new Date('2026-01-01T00:00:00Z') };
    expect(windowRefusal(window('2026-11-01T00:00:00Z', '2026-11-05T00:00:00Z'), old, NOW)).toBe(
      'the archive keeps events 30 days: those before 2026-11-02T12:00:00.000Z are gone. Start at 2026-11-02T12:00:00.000Z or later',
    );
    // Retention 0 keeps events indefinitely.
    expect(windowRefusal(window('2026-02-01T00:00:00Z', '2026-11-05T00:00:00Z'), { ...old, retentionDays: 0 }, NOW)).toBeUndefined();
  });

  it('ending within the last 10 minutes, unless --allow-recent (AWS advises waiting for events to reach the archive)', () => {
    const recent = window('2026-12-02T11:00:00Z', '2026-12-02T11:55:00Z');
    expect(windowRefusal(recent, ARCHIVE, NOW)).toMatch(/AWS advises waiting 10 minutes .* Run it again after 2026-12-02T12:05:00.000Z, or pass --allow-recent$/);
    expect(windowRefusal({ ...recent, allowRecent: true }, ARCHIVE, NOW)).toBeUndefined();
  });

  it('an archive that is not ENABLED', () => {
    expect(windowRefusal(window('2026-12-01T09:00:00Z', '2026-12-01T10:00:00Z'), { ...ARCHIVE, state: 'DISABLED', stateReason: 'disabled by an operator' }, NOW)).toBe(
      'the archive is DISABLED (disabled by an operator): it cannot replay',
    );
  });

  it('DescribeArchive output: retention, creation time, bus', () => {
    expect(
      archiveFacts({ ArchiveArn: ARCHIVE_ARN, EventSourceArn: BUS_ARN, State: 'ENABLED', RetentionDays: 30, CreationTime: ARCHIVE.createdAt, $metadata: {} }),
    ).toEqual({ ok: true, value: ARCHIVE });
    expect(archiveFacts({ ArchiveName: 'x', $metadata: {} })).toEqual({ ok: false, error: 'DescribeArchive did not describe x' });
  });

  it('replay names are what EventBridge accepts: [.-_A-Za-z0-9], at most 64', () => {
    expect(replayName({ provider: PROVIDERS.buddystat, type: 'goal.converted' }, NOW)).toBe('buddystat-goal.converted-20261202T120000Z');
    const long = replayName({ provider: PROVIDERS.buddystat, type: 'a very/long:type '.repeat(8) }, NOW);
    expect(long.length).toBeLessThanOrEqual(64);
    expect(long).toMatch(/^[.\-_A-Za-z0-9]+$/);
  });
});

describe('runReplay: the AWS calls it makes (aws-sdk-client-mock)', () => {
  const cloudFormation = new CloudFormationClient({ region: 'eu-west-1', credentials: { accessKeyId: 'k', secretAccessKey: 's' } });
  const eventBridge = new EventBridgeClient({ region: 'eu-west-1', credentials: { accessKeyId: 'k', secretAccessKey: 's' } });
  const cfn = mockClient(cloudFormation);
  const eb = mockClient(eventBridge);
  let lines: string[];
  const io = () => ({ print: (line: string) => lines.push(line), now: () => NOW, sleep: async () => undefined });

  beforeEach(() => {
    lines = [];
    cfn.reset();
    eb.reset();
    cfn.on(DescribeStacksCommand).resolves({ Stacks: [{ StackName: 'SignedCallbackReceivers', CreationTime: NOW, StackStatus: 'UPDATE_COMPLETE', Outputs: [{ OutputKey: 'WebhookArchiveName', OutputValue: 'SignedCallbackReceivers-webhooks' }] }] });
    eb.on(DescribeArchiveCommand).resolves({ ArchiveArn: ARCHIVE_ARN, ArchiveName: 'SignedCallbackReceivers-webhooks', EventSourceArn: BUS_ARN, State: 'ENABLED', RetentionDays: 30, CreationTime: ARCHIVE.createdAt });
    eb.on(ListRulesCommand).resolves({
      Rules: [
        { Name: 'bullseye-consumer', Arn: 'arn:rule/bullseye-consumer', EventPattern: '{"source":["webhooks.bullseye"]}' },
        { Name: 'everything', Arn: 'arn:rule/everything', EventPattern: '{"source":[{"prefix":"webhooks."}]}' },
        { Name: 'buddystat-only', Arn: 'arn:rule/buddystat-only', EventPattern: '{"source":["webhooks.buddystat"]}' },
        { Name: 'nightly', Arn: 'arn:rule/nightly', ScheduleExpression: 'rate(1 day)' },
      ],
    });
    // TestEventPattern as EventBridge would answer it for these patterns.
    eb.on(TestEventPatternCommand).callsFake((input: { EventPattern: string; Event: string }) => {
      const source = JSON.parse(input.Event).source as string;
      const pattern = JSON.parse(input.EventPattern) as { source: (string | { prefix: string })[] };
      return { Result: pattern.source.some((s) => (typeof s === 'string' ? s === source : source.startsWith(s.prefix))) };
    });
    eb.on(StartReplayCommand).resolves({ State: 'STARTING' });
    eb.on(DescribeReplayCommand)
      .resolvesOnce({ State: 'STARTING' })
      .resolvesOnce({ State: 'RUNNING', EventLastReplayedTime: new Date('2026-12-01T09:30:00Z') })
      .resolves({ State: 'COMPLETED', EventLastReplayedTime: new Date('2026-12-01T10:00:00Z') });
  });
  afterEach(() => {
    cfn.reset();
    eb.reset();
  });

  it('reads the archive name from the stack, describes it, picks the rules that match the provider, starts the replay to them and follows it to COMPLETED', async () => {
    expect(await runReplay(args(), { cloudFormation, eventBridge }, io())).toBe(0);

    expect(cfn.commandCalls(DescribeStacksCommand).map((c) => c.args[0].input)).toEqual([{ StackName: 'SignedCallbackReceivers' }]);
    expect(eb.commandCalls(DescribeArchiveCommand).map((c) => c.args[0].input)).toEqual([{ ArchiveName: 'SignedCallbackReceivers-webhooks' }]);
    expect(eb.commandCalls(ListRulesCommand).map((c) => c.args[0].input)).toEqual([{ EventBusName: 'SignedCallbackReceiversWebhookEvents1A2B3C' }]);
    const tested = eb.commandCalls(TestEventPatternCommand).map((c) => JSON.parse(c.args[0].input.Event!));
    expect(tested[0]).toEqual({
      id: expect.any(String),
      'detail-type': 'identification',
      source: 'webhooks.bullseye',
      account: '123456789012',
      time: NOW.toISOString(),
      region: 'eu-west-1',
      resources: [],
      detail: {},
    });
    expect(eb.commandCalls(StartReplayCommand).map((c) => c.args[0].input)).toEqual([
      {
        ReplayName: 'bullseye-20261202T120000Z',
        Description: 'npm run replay: webhooks.bullseye events',
        EventSourceArn: ARCHIVE_ARN,
        EventStartTime: new Date('2026-12-01T09:00:00Z'),
        EventEndTime: new Date('2026-12-01T10:00:00Z'),
        Destination: { Arn: BUS_ARN, FilterArns: ['arn:rule/bullseye-consumer', 'arn:rule/everything'] },
      },
    ]);
    expect(eb.commandCalls(DescribeReplayCommand).map((c) => c.args[0].input)).toEqual(Array(3).fill({ ReplayName: 'bullseye-20261202T120000Z' }));
    expect(lines).toEqual([
      'replaying 2026-12-01T09:00:00.000Z .. 2026-12-01T10:00:00.000Z from archive SignedCallbackReceivers-webhooks as bullseye-20261202T120000Z, to:',
      '  bullseye-consumer',
      `  everything (its pattern also takes ${PROVIDER_IDS.filter((id) => id !== 'bullseye' && PROVIDERS[id].kind === 'webhook').join(', ')} events)`,
      `  ${NOW.toISOString()} STARTING`,
      `  ${NOW.toISOString()} RUNNING, replayed up to 2026-12-01T09:30:00.000Z`,
      `  ${NOW.toISOString()} COMPLETED, replayed up to 2026-12-01T10:00:00.000Z`,
    ]);
  });

  it('--rule replays to that rule only, found on the webhook bus with DescribeRule', async () => {
    eb.on(DescribeRuleCommand).resolves({ Name: 'mine', Arn: 'arn:rule/mine' });
    expect(await runReplay(args({ rule: 'mine', type: 'billing' }), { cloudFormation, eventBridge }, io())).toBe(0);
    expect(eb.commandCalls(DescribeRuleCommand).map((c) => c.args[0].input)).toEqual([{ Name: 'mine', EventBusName: 'SignedCallbackReceiversWebhookEvents1A2B3C' }]);
    expect(eb.commandCalls(ListRulesCommand)).toHaveLength(0);
    expect(eb.commandCalls(StartReplayCommand)[0]!.args[0].input).toMatchObject({ ReplayName: 'bullseye-billing-20261202T120000Z', Destination: { Arn: BUS_ARN, FilterArns: ['arn:rule/mine'] } });
  });

  it('--rule that does not exist: refused, nothing started', async () => {
    eb.on(DescribeRuleCommand).rejects(new ResourceNotFoundException({ message: 'Rule mine does not exist on EventBus x.', $metadata: {} }));
    expect(await runReplay(args({ rule: 'mine' }), { cloudFormation, eventBridge }, io())).toBe(1);
    expect(lines).toEqual(['refused: rule mine not found on bus SignedCallbackReceiversWebhookEvents1A2B3C']);
    expect(eb.commandCalls(StartReplayCommand)).toHaveLength(0);
  });

  it('--type narrows the rules to those taking that detail-type and says which take every type', async () => {
    eb.on(ListRulesCommand).resolves({
      Rules: [
        { Name: 'conversions', Arn: 'arn:rule/conversions', EventPattern: '{"source":["webhooks.buddystat"],"detail-type":["goal.converted"]}' },
        { Name: 'buddystat-all', Arn: 'arn:rule/buddystat-all', EventPattern: '{"source":["webhooks.buddystat"]}' },
        { Name: 'sessions', Arn: 'arn:rule/sessions', EventPattern: '{"source":["webhooks.buddystat"],"detail-type":["session.created"]}' },
      ],
    });
    eb.on(TestEventPatternCommand).callsFake((input: { EventPattern: string; Event: string }) => {
      const event = JSON.parse(input.Event) as { source: string; 'detail-type': string };
      const pattern = JSON.parse(input.EventPattern) as { source: string[]; 'detail-type'?: string[] };
      return { Result: pattern.source.includes(event.source) && (!pattern['detail-type'] || pattern['detail-type'].includes(event['detail-type'])) };
    });
    expect(await runReplay(args({ provider: PROVIDERS.buddystat, type: 'goal.converted' }), { cloudFormation, eventBridge }, io())).toBe(0);
    expect(eb.commandCalls(StartReplayCommand)[0]!.args[0].input.Destination).toEqual({ Arn: BUS_ARN, FilterArns: ['arn:rule/conversions', 'arn:rule/buddystat-all'] });
    expect(lines.slice(1, 3)).toEqual(['  conversions', '  buddystat-all (its pattern also takes every other buddystat event type)']);
  });

  it('no rule matches the provider: refused, nothing started', async () => {
    eb.on(ListRulesCommand).resolves({ Rules: [{ Name: 'buddystat-only', Arn: 'arn:rule/buddystat-only', EventPattern: '{"source":["webhooks.buddystat"]}' }] });
    expect(await runReplay(args(), { cloudFormation, eventBridge }, io())).toBe(1);
    expect(lines).toEqual(['refused: no rule on the webhook bus matches webhooks.bullseye events: nothing would receive the replay. Name one with --rule']);
    expect(eb.commandCalls(StartReplayCommand)).toHaveLength(0);
  });

  it('a window before the archive: refused after DescribeArchive, before any rule is read', async () => {
    expect(await runReplay(args({ from: new Date('2026-10-01T00:00:00Z') }), { cloudFormation, eventBridge }, io())).toBe(1);
    expect(lines[0]).toMatch(/^refused: the archive was created at 2026-11-01T00:00:00.000Z/);
    expect(eb.commandCalls(ListRulesCommand)).toHaveLength(0);
    expect(eb.commandCalls(StartReplayCommand)).toHaveLength(0);
  });

  it('a stack without the archive output, or none at all: refused with what to do', async () => {
    cfn.on(DescribeStacksCommand).resolves({ Stacks: [{ StackName: 'SignedCallbackReceivers', CreationTime: NOW, StackStatus: 'UPDATE_COMPLETE', Outputs: [] }] });
    expect(await runReplay(args(), { cloudFormation, eventBridge }, io())).toBe(1);
    expect(lines.pop()).toMatch(/has no WebhookArchiveName output/);
    cfn.on(DescribeStacksCommand).rejects(Object.assign(new Error('Stack with id Nope does not exist'), { name: 'ValidationError' }));
    expect(await runReplay(args({ stack: 'Nope' }), { cloudFormation, eventBridge }, io())).toBe(1);
    expect(lines.pop()).toBe('refused: cannot read stack Nope: ValidationError: Stack with id Nope does not exist');
  });

  it('StartReplay refused by EventBridge: its message, exit 1', async () => {
    eb.on(StartReplayCommand).rejects(Object.assign(new Error('Parameter EventEndTime is not valid.'), { name: 'ValidationException' }));
    expect(await runReplay(args(), { cloudFormation, eventBridge }, io())).toBe(1);
    expect(lines.pop()).toBe('refused: StartReplay: ValidationException: Parameter EventEndTime is not valid.');
  });

  it('a replay that FAILED exits 1 with its reason', async () => {
    eb.on(DescribeReplayCommand).resolves({ State: 'FAILED', StateReason: 'Destination rule was deleted' });
    expect(await runReplay(args(), { cloudFormation, eventBridge }, io())).toBe(1);
    expect(lines.pop()).toBe(`  ${NOW.toISOString()} FAILED (Destination rule was deleted)`);
  });
});
