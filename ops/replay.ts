import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import {
  DescribeArchiveCommand,
  DescribeReplayCommand,
  DescribeRuleCommand,
  EventBridgeClient,
  ListRulesCommand,
  StartReplayCommand,
  TestEventPatternCommand,
  type DescribeArchiveCommandOutput,
  type ReplayState,
} from '@aws-sdk/client-eventbridge';
import { readOptions, runCommand, usageExit } from '../local/cli.js';
import { eventTypesFor } from '../local/platform-requests.js';
import { eventSourceOf } from '../shared/events/event.js';
import { PROVIDER_IDS, providerById, type RegisteredProvider } from '../shared/providers.js';
import { awsErrorText, DEFAULT_STACK_NAME, parseInstant, readStackOutputs, sleep, type Outcome } from './stack-outputs.js';

/**
 * npm run replay -- --provider <id> [--type <eventType>] --from <ISO> --to <ISO> [--rule <name>]
 *
 * Sends a window of archived webhook events to the bus again (EventBridge StartReplay from the
 * stack's archive, output `WebhookArchiveName`), then prints the replay's state until it ends.
 * A replay re-sends every archived event of the window to the rules it names; the rules' own
 * patterns decide which events each receives. So the provider (and type) choose the rules: those
 * on the bus whose pattern matches such an event (EventBridge's TestEventPattern), or the one named
 * by --rule. Windows the archive cannot serve are refused before anything starts.
 */

/** AWS: events may reach an archive some time after the bus; it advises waiting 10 minutes before replaying them. */
export const ARCHIVE_DELAY_MS = 10 * 60_000;

const USAGE = `usage: npm run replay -- --provider <id> --from <ISO time> --to <ISO time> [options]

  --provider ID        webhook provider whose events to send again: ${PROVIDER_IDS.filter((id) => providerById(id)?.kind === 'webhook').join(' | ')}
  --type TYPE          only rules that match this event type (detail-type), e.g. goal.converted
  --from, --to TIME    the window, by the time each event was received, with a zone: 2026-12-01T09:30:00Z
  --rule NAME          replay to this rule on the webhook bus only (default: every rule matching the provider/type)
  --stack NAME         the deployed stack (default ${DEFAULT_STACK_NAME})
  --allow-recent       replay a window that ends less than ${ARCHIVE_DELAY_MS / 60_000} minutes ago (AWS advises waiting)
  --poll-seconds N     how often to print the replay's state (default 15)

AWS credentials and region come from your environment or profile, as for the aws CLI.`;

export interface ReplayArgs {
  readonly provider: RegisteredProvider;
  readonly type?: string;
  readonly from: Date;
  readonly to: Date;
  readonly rule?: string;
  readonly stack: string;
  readonly allowRecent: boolean;
  readonly pollMs: number;
}

export type Parsed = { readonly ok: true; readonly args: ReplayArgs } | { readonly ok: false; readonly help: boolean; readonly error?: string };

export function parseReplayArgs(argv: readonly string[]): Parsed {
  const read = readOptions(argv, {
    provider: { type: 'string' },
    type: { type: 'string' },
    from: { type: 'string' },
    to: { type: 'string' },
    rule: { type: 'string' },
    stack: { type: 'string', default: DEFAULT_STACK_NAME },
    'allow-recent': { type: 'boolean', default: false },
    'poll-seconds': { type: 'string', default: '15' },
    help: { type: 'boolean', short: 'h', default: false },
  });
  if (!read.ok) return read;
  const { values } = read;
  if (read.positionals.length > 0) return { ok: false, help: false, error: `unexpected argument "${read.positionals[0]}"` };
  const fail = (error: string): Parsed => ({ ok: false, help: false, error });
  if (!values.provider) return fail('--provider is required');
  const provider = providerById(values.provider);
  if (!provider) return fail(`unknown provider "${values.provider}"`);
  if (provider.kind !== 'webhook') return fail(`${provider.id} answers lookups; only webhook events reach the bus and its archive`);
  if (!values.from || !values.to) return fail('--from and --to are required');
  const from = parseInstant(values.from);
  if (!from.ok) return fail(`--from: ${from.error}`);
  const to = parseInstant(values.to);
  if (!to.ok) return fail(`--to: ${to.error}`);
  if (from.value.getTime() >= to.value.getTime()) return fail('--from must be before --to');
  const pollSeconds = Number(values['poll-seconds']);
  if (!Number.isFinite(pollSeconds) || pollSeconds < 0) return fail('--poll-seconds: expected a number of seconds');
  if (values.type !== undefined && values.type.trim() === '') return fail('--type: expected an event type');
  return {
    ok: true,
    args: {
      provider,
      from: from.value,
      to: to.value,
      stack: values.stack,
      allowRecent: values['allow-recent'],
      pollMs: pollSeconds * 1000,
      ...(values.type !== undefined ? { type: values.type.trim() } : {}),
      ...(values.rule !== undefined ? { rule: values.rule } : {}),
    },
  };
}

/** What DescribeArchive says that decides whether a window can be served. */
export interface ArchiveFacts {
  readonly arn: string;
  readonly busArn: string;
  readonly state: string;
  readonly stateReason?: string;
  /** 0: kept indefinitely. */
  readonly retentionDays: number;
  readonly createdAt: Date;
}

export function archiveFacts(answer: DescribeArchiveCommandOutput): Outcome<ArchiveFacts> {
  if (!answer.ArchiveArn || !answer.EventSourceArn || !answer.CreationTime) return { ok: false, error: `DescribeArchive did not describe ${answer.ArchiveName ?? 'the archive'}` };
  return {
    ok: true,
    value: {
      arn: answer.ArchiveArn,
      busArn: answer.EventSourceArn,
      state: answer.State ?? 'UNKNOWN',
      ...(answer.StateReason ? { stateReason: answer.StateReason } : {}),
      retentionDays: answer.RetentionDays ?? 0,
      createdAt: answer.CreationTime,
    },
  };
}

const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * Why the archive cannot serve this window, or undefined when it can. Events are archived from
 * the archive's creation on, and removed `retentionDays` after they happened.
 */
export function windowRefusal(window: { from: Date; to: Date; allowRecent: boolean }, archive: ArchiveFacts, now: Date): string | undefined {
  const { from, to } = window;
  if (archive.state !== 'ENABLED') return `the archive is ${archive.state}${archive.stateReason ? ` (${archive.stateReason})` : ''}: it cannot replay`;
  if (to.getTime() > now.getTime()) return `--to ${to.toISOString()} is in the future (now ${now.toISOString()}): the archive holds only events that have happened`;
  if (from.getTime() < archive.createdAt.getTime()) {
    return `the archive was created at ${archive.createdAt.toISOString()}: nothing before that was archived. Start at ${archive.createdAt.toISOString()} or later`;
  }
  if (archive.retentionDays > 0) {
    const oldest = new Date(now.getTime() - archive.retentionDays * DAY_MS);
    if (from.getTime() < oldest.getTime()) {
      return `the archive keeps events ${archive.retentionDays} days: those before ${oldest.toISOString()} are gone. Start at ${oldest.toISOString()} or later`;
    }
  }
  if (!window.allowRecent && to.getTime() > now.getTime() - ARCHIVE_DELAY_MS) {
    const ready = new Date(to.getTime() + ARCHIVE_DELAY_MS);
    return `the window ends less than ${ARCHIVE_DELAY_MS / 60_000} minutes ago: events reach the archive some time after the bus, and AWS advises waiting ${ARCHIVE_DELAY_MS / 60_000} minutes so the replay has them all. Run it again after ${ready.toISOString()}, or pass --allow-recent`;
  }
  return undefined;
}

/** A replay name EventBridge accepts (`[.\-_A-Za-z0-9]+`, at most 64), saying what and when. */
export function replayName(args: Pick<ReplayArgs, 'provider' | 'type'>, now: Date): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  const type = args.type ? `-${args.type.replace(/[^.\-_A-Za-z0-9]/g, '_')}` : '';
  const name = `${args.provider.id}${type}`.slice(0, 64 - stamp.length - 1);
  return `${name}-${stamp}`;
}

/** An event as the bus would hold it, for TestEventPattern: the provider's source and the type asked for. */
export function sampleEvent(providerId: string, type: string, busArn: string, now: Date): string {
  const [, , , region = 'us-east-1', account = '123456789012'] = busArn.split(':');
  return JSON.stringify({
    id: '00000000-0000-0000-0000-000000000000',
    'detail-type': type,
    source: eventSourceOf(providerId),
    account,
    time: now.toISOString(),
    region,
    resources: [],
    detail: {},
  });
}

/** A detail-type no platform sends: a rule that matches it too takes every type, not only the one asked for. */
const OTHER_TYPE = 'replay-probe.any-other-type';

export interface ChosenRule {
  readonly name: string;
  readonly arn: string;
  /** How what the rule receives from the window differs from the provider (and type) asked for. */
  readonly notes: readonly string[];
}

interface Io {
  readonly print: (line: string) => void;
  readonly now: () => Date;
  readonly sleep: (ms: number) => Promise<void>;
}

export interface ReplayClients {
  readonly cloudFormation: CloudFormationClient;
  readonly eventBridge: EventBridgeClient;
}

/**
 * Rules on the bus that take the provider's events (of the type asked for, or of any type its
 * platform sends), each with how what it receives differs from what was asked: EventBridge's own
 * TestEventPattern decides, so every pattern feature counts as it does on the bus.
 */
async function matchingRules(eventBridge: EventBridgeClient, args: ReplayArgs, busArn: string, now: Date): Promise<ChosenRule[]> {
  const busName = busNameOf(busArn);
  const matches = async (pattern: string, providerId: string, type: string) =>
    (await eventBridge.send(new TestEventPatternCommand({ EventPattern: pattern, Event: sampleEvent(providerId, type, busArn, now) }))).Result === true;
  const types = args.type ? [args.type] : [...eventTypesFor(args.provider.id), OTHER_TYPE];
  const chosen: ChosenRule[] = [];
  let nextToken: string | undefined;
  do {
    const page = await eventBridge.send(new ListRulesCommand({ EventBusName: busName, ...(nextToken ? { NextToken: nextToken } : {}) }));
    for (const rule of page.Rules ?? []) {
      // Scheduled rules have no pattern and never see bus events.
      if (!rule.Name || !rule.Arn || !rule.EventPattern) continue;
      const matched: string[] = [];
      for (const type of types) if (await matches(rule.EventPattern, args.provider.id, type)) matched.push(type);
      if (matched.length === 0) continue;
      const notes: string[] = [];
      if (args.type && (await matches(rule.EventPattern, args.provider.id, OTHER_TYPE))) notes.push(`also takes every other ${args.provider.id} event type`);
      if (!args.type && !matched.includes(OTHER_TYPE)) notes.push(`takes only ${matched.join(', ')}`);
      const others: string[] = [];
      for (const other of PROVIDER_IDS) {
        if (other !== args.provider.id && providerById(other)?.kind === 'webhook' && (await matches(rule.EventPattern, other, OTHER_TYPE))) others.push(other);
      }
      if (others.length > 0) notes.push(`also takes ${others.join(', ')} events`);
      chosen.push({ name: rule.Name, arn: rule.Arn, notes });
    }
    nextToken = page.NextToken;
  } while (nextToken);
  return chosen;
}

/** `arn:aws:events:<region>:<account>:event-bus/<name>` -> `<name>`. */
function busNameOf(busArn: string): string {
  return busArn.slice(busArn.lastIndexOf('/') + 1);
}

const FINAL_STATES: ReadonlySet<ReplayState | string> = new Set(['COMPLETED', 'CANCELLED', 'FAILED']);

/** The whole command after parsing: 0 when the replay completed, 1 when it was refused or did not complete. */
export async function runReplay(args: ReplayArgs, clients: ReplayClients, io: Io): Promise<number> {
  const { print } = io;
  const refuse = (message: string) => {
    print(`refused: ${message}`);
    return 1;
  };
  const outputs = await readStackOutputs(clients.cloudFormation, args.stack);
  if (!outputs.ok) return refuse(outputs.error);
  const archiveName = outputs.value.WebhookArchiveName;
  if (!archiveName) return refuse(`stack ${args.stack} has no WebhookArchiveName output: it deploys no webhook provider, or predates the archive (deploy again)`);

  let archive: ArchiveFacts;
  try {
    const described = archiveFacts(await clients.eventBridge.send(new DescribeArchiveCommand({ ArchiveName: archiveName })));
    if (!described.ok) return refuse(described.error);
    archive = described.value;
  } catch (error) {
    return refuse(`cannot describe archive ${archiveName}: ${awsErrorText(error)}`);
  }
  const now = io.now();
  const refusal = windowRefusal(args, archive, now);
  if (refusal) return refuse(refusal);

  const busName = busNameOf(archive.busArn);
  let rules: ChosenRule[];
  try {
    if (args.rule) {
      const described = await clients.eventBridge.send(new DescribeRuleCommand({ Name: args.rule, EventBusName: busName }));
      if (!described.Arn) return refuse(`rule ${args.rule} not found on bus ${busName}`);
      rules = [{ name: args.rule, arn: described.Arn, notes: [] }];
    } else {
      rules = await matchingRules(clients.eventBridge, args, archive.busArn, now);
    }
  } catch (error) {
    if (args.rule && error instanceof Error && error.name === 'ResourceNotFoundException') return refuse(`rule ${args.rule} not found on bus ${busName}`);
    return refuse(`cannot read the bus's rules: ${awsErrorText(error)}`);
  }
  const what = `${eventSourceOf(args.provider.id)}${args.type ? ` ${args.type}` : ''} events`;
  if (rules.length === 0) return refuse(`no rule on the webhook bus matches ${what}: nothing would receive the replay. Name one with --rule`);

  const name = replayName(args, now);
  print(`replaying ${args.from.toISOString()} .. ${args.to.toISOString()} from archive ${archiveName} as ${name}, to:`);
  for (const rule of rules) print(`  ${rule.name}${rule.notes.length > 0 ? ` (its pattern ${rule.notes.join('; ')})` : ''}`);
  try {
    await clients.eventBridge.send(
      new StartReplayCommand({
        ReplayName: name,
        Description: `npm run replay: ${what}`.slice(0, 512),
        EventSourceArn: archive.arn,
        EventStartTime: args.from,
        EventEndTime: args.to,
        Destination: { Arn: archive.busArn, FilterArns: rules.map((rule) => rule.arn) },
      }),
    );
  } catch (error) {
    return refuse(`StartReplay: ${awsErrorText(error)}`);
  }

  let shown = '';
  for (;;) {
    let state: string;
    try {
      const replay = await clients.eventBridge.send(new DescribeReplayCommand({ ReplayName: name }));
      state = replay.State ?? 'UNKNOWN';
      const progress = replay.EventLastReplayedTime ? `, replayed up to ${replay.EventLastReplayedTime.toISOString()}` : '';
      const line = `${state}${progress}${replay.StateReason ? ` (${replay.StateReason})` : ''}`;
      if (line !== shown) print(`  ${io.now().toISOString()} ${line}`);
      shown = line;
    } catch (error) {
      print(`  DescribeReplay failed (${awsErrorText(error)}); the replay goes on: aws events describe-replay --replay-name ${name}`);
      return 1;
    }
    if (FINAL_STATES.has(state)) return state === 'COMPLETED' ? 0 : 1;
    await io.sleep(args.pollMs);
  }
}

export async function main(argv: string[], clients?: ReplayClients, io?: Partial<Io>): Promise<number> {
  const parsed = parseReplayArgs(argv);
  if (!parsed.ok) return usageExit(parsed, USAGE);
  return runReplay(parsed.args, clients ?? { cloudFormation: new CloudFormationClient({}), eventBridge: new EventBridgeClient({}) }, {
    print: (line) => console.log(line),
    now: () => new Date(),
    sleep,
    ...io,
  });
}

// Run only as the entry point, so tests can import it.
if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) runCommand((argv) => main(argv));
