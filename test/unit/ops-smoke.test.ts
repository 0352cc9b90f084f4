import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { DeleteRuleCommand, EventBridgeClient, PutRuleCommand, PutTargetsCommand, RemoveTargetsCommand } from '@aws-sdk/client-eventbridge';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { CreateQueueCommand, DeleteMessageBatchCommand, DeleteQueueCommand, GetQueueAttributesCommand, ReceiveMessageCommand, SetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { startLocalStack, type LocalStack } from '../../local/app.js';
import { LOCAL_FILES } from '../../local/defaults.js';
import { awsTarget, localTarget, main, parseSmokeArgs, report, routeUrlsFromOutputs, runSmoke, SMOKE_EVENT_TYPE, type SmokeArgs, type SmokeCheck, type SmokeIo } from '../../ops/smoke.js';
import { PROVIDER_IDS, PROVIDERS, providerById, type ProviderDefinition } from '../../shared/providers.js';

const providers = PROVIDER_IDS.map((id) => PROVIDERS[id] as ProviderDefinition);
const routeCount = providers.reduce((n, p) => n + p.routes.length, 0);
const webhookRouteCount = providers.filter((p) => p.kind === 'webhook').reduce((n, p) => n + p.routes.length, 0);

describe('smoke arguments', () => {
  it('defaults: the default stack, every provider it deploys, 30 s for the bus, 10 s for the new rule to apply', () => {
    expect(parseSmokeArgs([])).toEqual({ ok: true, args: { stack: 'SignedCallbackReceivers', local: false, waitMs: 30_000, settleMs: 10_000 } });
    expect(parseSmokeArgs(['--local'])).toEqual({ ok: true, args: { stack: 'SignedCallbackReceivers', local: true, waitMs: 5_000, settleMs: 0 } });
  });

  it('reads --stack, --providers (registry order), --wait-seconds, --local --url', () => {
    expect(parseSmokeArgs(['--stack', 'Staging', '--providers', 'helper, bullseye', '--wait-seconds', '60', '--settle-seconds', '0'])).toEqual({
      ok: true,
      args: { stack: 'Staging', providers: ['bullseye', 'helper'], local: false, waitMs: 60_000, settleMs: 0 },
    });
    expect(parseSmokeArgs(['--local', '--url', 'http://127.0.0.1:4000'])).toMatchObject({ ok: true, args: { local: true, url: 'http://127.0.0.1:4000' } });
  });

  it.each([
    [['--providers', 'buddy,nope'], `--providers: unknown "nope" (known: ${PROVIDER_IDS.join(', ')})`],
    [['--providers', ','], '--providers: expected a comma-separated list of provider ids'],
    [['--url', 'http://127.0.0.1:3000'], '--url is for --local; against AWS the URLs come from the stack outputs'],
    [['--local', '--url', 'localhost'], '--url: not a URL: localhost'],
    [['--wait-seconds', 'soon'], '--wait-seconds: expected a number of seconds'],
    [['--stak', 'x'], expect.stringMatching(/Unknown option '--stak'/)],
    [['Staging'], 'unexpected argument "Staging"'],
  ])('argument error %#', (argv, error) => {
    expect(parseSmokeArgs(argv as string[])).toEqual({ ok: false, help: false, error });
  });

  it('--help prints the usage and exits 0; an argument error exits 2', async () => {
    expect(parseSmokeArgs(['-h'])).toEqual({ ok: false, help: true });
    expect(await main(['--providers', 'nope'])).toBe(2);
  });
});

describe('stack outputs -> URLs per route', () => {
  const outputs = {
    BullseyeIdentificationApiUrl: 'https://abc.execute-api.eu-west-1.amazonaws.com/bullseye/identification',
    BullseyeIdentificationFunctionUrl: 'https://xyz.lambda-url.eu-west-1.on.aws/bullseye/identification',
    BullseyeBillingApiUrl: 'https://abc.execute-api.eu-west-1.amazonaws.com/bullseye/billing',
    BullseyeBillingFunctionUrl: 'https://xyz.lambda-url.eu-west-1.on.aws/bullseye/billing',
    BuddyApiUrl: 'https://abc.execute-api.eu-west-1.amazonaws.com/buddy/identity',
    BuddystatApiUrl: 'https://abc.execute-api.eu-west-1.amazonaws.com/buddystat/events',
  };

  it('each route gets its API URL and its function URL, by provider prefix and route path', () => {
    expect(routeUrlsFromOutputs(outputs, PROVIDERS.bullseye, PROVIDERS.bullseye.routes[1])).toEqual([
      { kind: 'api', url: outputs.BullseyeBillingApiUrl },
      { kind: 'function', url: outputs.BullseyeBillingFunctionUrl },
    ]);
    // BuddyStat's outputs start with "Buddy" too: the route path tells them apart.
    expect(routeUrlsFromOutputs(outputs, PROVIDERS.buddy, PROVIDERS.buddy.routes[0])).toEqual([{ kind: 'api', url: outputs.BuddyApiUrl }]);
  });
});

describe('report', () => {
  it('one line per check, with status, latency and whether the event reached the bus, then totals', () => {
    const lines = report([
      { provider: 'bullseye', route: '/bullseye/billing', via: 'api', request: 'signed', status: 200, latencyMs: 41.6, reachedBus: true, passed: true },
      { provider: 'bullseye', route: '/bullseye/billing', via: 'api', request: 'mis-signed', status: 200, latencyMs: 12, passed: false, note: 'a wrongly signed request must get 401' },
    ]);
    expect(lines).toEqual([
      '      provider  route              via  request     status  latency  event',
      'ok    bullseye  /bullseye/billing  api  signed      200     42 ms    on the bus',
      'FAIL  bullseye  /bullseye/billing  api  mis-signed  200     12 ms    -           a wrongly signed request must get 401',
      '2 checks: 1 passed, 1 failed',
    ]);
  });
});

let stack: LocalStack;
let dir: string;
let eventsFile: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'smoke-'));
  eventsFile = join(dir, 'events.jsonl');
  stack = await startLocalStack({ port: 0, quiet: true, eventsFile });
});
afterAll(async () => {
  await stack?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const ioCollecting = (lines: string[]): SmokeIo => ({ print: (line) => lines.push(line), clock: Date.now, sleep: (ms) => new Promise((r) => setTimeout(r, ms)) });
const localArgs = (overrides: Partial<SmokeArgs> = {}): SmokeArgs => ({ stack: 'x', local: true, url: stack.url, waitMs: 5_000, settleMs: 0, ...overrides });

describe('--local against the local server (the real handlers, in process)', () => {
  it('every route: the signed request verifies, the mis-signed one gets 401, and each webhook event lands in the events file', async () => {
    const lines: string[] = [];
    const io = ioCollecting(lines);
    const target = await localTarget(localArgs(), io, { eventsFile });
    expect(target.ok).toBe(true);
    const { code, checks } = await runSmoke(target.ok ? target.value : (undefined as never), localArgs(), io);
    expect(checks.filter((c) => !c.passed)).toEqual([]);
    expect(code).toBe(0);
    expect(checks).toHaveLength(2 * routeCount);
    for (const check of checks) expect(check.status).toBe(check.request === 'signed' ? 200 : 401);
    expect(checks.filter((c) => c.reachedBus === true)).toHaveLength(webhookRouteCount);
    // Sent as test deliveries where the platform has such a marker (Bullseye, BuddyStat), so real consumers can tell them apart.
    // The file sink's lines: source, detailType, and Detail as the text PutEvents would get.
    const events = (await readFile(eventsFile, 'utf8')).split('\n').filter(Boolean).map((l) => {
      const entry = JSON.parse(l) as { source: string; detailType: string; detail: string };
      return { provider: entry.source.replace(/^webhooks\./, ''), eventType: entry.detailType, delivery: (JSON.parse(entry.detail) as { delivery: { test: boolean } }).delivery };
    });
    const marked = events.slice(-webhookRouteCount).filter((e) => e.provider === 'bullseye' || e.provider === 'buddystat');
    expect(marked.map((e) => e.delivery.test)).toEqual([true, true, true]);
    const generic = events.slice(-webhookRouteCount).filter((e) => providerById(e.provider)?.genericWebhook);
    expect(generic.map((e) => e.eventType)).toEqual(generic.map(() => SMOKE_EVENT_TYPE));
    expect(lines.at(-1)).toBe(`${2 * routeCount} checks: ${2 * routeCount} passed, 0 failed`);
    // Never a secret in what it prints.
    const secrets = JSON.parse(await readFile(LOCAL_FILES.secrets, 'utf8')) as Record<string, Record<string, string>>;
    for (const value of Object.values(secrets).flatMap((s) => Object.values(s))) expect(lines.join('\n')).not.toContain(value);
  });

  it('a secret that is not the server\'s: the signed request gets 401 and the check says why', async () => {
    const secretsFile = join(dir, 'other-secrets.json');
    await writeFile(secretsFile, JSON.stringify({ talki: { signingSecret: 'not-what-the-server-has' } }));
    const lines: string[] = [];
    const args = localArgs({ providers: ['talki'] });
    const target = await localTarget(args, ioCollecting(lines), { secretsFile, eventsFile });
    const { code, checks } = await runSmoke(target.ok ? target.value : (undefined as never), args, ioCollecting(lines));
    expect(code).toBe(1);
    expect(checks[0]).toMatchObject({ request: 'signed', status: 401, passed: false, note: expect.stringMatching(/did not verify/) });
  });

  it('nothing listening: each check fails with why, exit 1', async () => {
    const lines: string[] = [];
    const args = localArgs({ providers: ['helper'], url: 'http://127.0.0.1:9' });
    const target = await localTarget(args, ioCollecting(lines), { eventsFile });
    const { code, checks } = await runSmoke(target.ok ? target.value : (undefined as never), args, ioCollecting(lines));
    expect(code).toBe(1);
    expect(checks.map((c) => c.note)).toEqual([expect.stringMatching(/^request failed/), expect.stringMatching(/^request failed/)]);
  });
});

describe('against a deployed stack: the AWS calls it makes (aws-sdk-client-mock), the local server answering the URLs', () => {
  const credentials = { accessKeyId: 'k', secretAccessKey: 's' };
  const clients = {
    cloudFormation: new CloudFormationClient({ region: 'eu-west-1', credentials }),
    secretsManager: new SecretsManagerClient({ region: 'eu-west-1', credentials }),
    eventBridge: new EventBridgeClient({ region: 'eu-west-1', credentials }),
    sqs: new SQSClient({ region: 'eu-west-1', credentials }),
  };
  const cfn = mockClient(clients.cloudFormation);
  const sm = mockClient(clients.secretsManager);
  const eb = mockClient(clients.eventBridge);
  const sqs = mockClient(clients.sqs);
  const QUEUE_URL = 'https://sqs.eu-west-1.amazonaws.com/123456789012/smoke-queue';
  const QUEUE_ARN = 'arn:aws:sqs:eu-west-1:123456789012:smoke-queue';
  const RULE_ARN = 'arn:aws:events:eu-west-1:123456789012:rule/WebhookBus/smoke';

  /** Stack outputs as the stack names them, every URL answered by the local server. */
  const outputs = (): { OutputKey: string; OutputValue: string }[] => [
    ...providers.flatMap((p) => [
      { OutputKey: `${p.id.charAt(0).toUpperCase()}${p.id.slice(1)}SecretName`, OutputValue: `SignedCallbackReceivers/${p.id}/signing-secret` },
      ...p.routes.flatMap((r) => {
        const name = `${p.id.charAt(0).toUpperCase()}${p.id.slice(1)}${p.routes.length > 1 ? r.eventFamily!.charAt(0).toUpperCase() + r.eventFamily!.slice(1) : ''}`;
        return [
          { OutputKey: `${name}ApiUrl`, OutputValue: `${stack.url}${r.path}` },
          { OutputKey: `${name}FunctionUrl`, OutputValue: `${stack.url}${r.path}` },
        ];
      }),
    ]),
    { OutputKey: 'EventBusName', OutputValue: 'WebhookBus' },
  ];

  let eventsRead = 0;
  beforeEach(() => {
    for (const mock of [cfn, sm, eb, sqs]) mock.reset();
    cfn.on(DescribeStacksCommand).resolves({ Stacks: [{ StackName: 'SignedCallbackReceivers', CreationTime: new Date(), StackStatus: 'UPDATE_COMPLETE', Outputs: outputs() }] });
    sm.on(GetSecretValueCommand).callsFake((input: { SecretId: string }) => ({ SecretString: stack.secrets[input.SecretId.split('/')[1] as keyof typeof stack.secrets] }));
    sqs.on(CreateQueueCommand).resolves({ QueueUrl: QUEUE_URL });
    sqs.on(GetQueueAttributesCommand).resolves({ Attributes: { QueueArn: QUEUE_ARN } });
    sqs.on(SetQueueAttributesCommand).resolves({});
    sqs.on(DeleteMessageBatchCommand).resolves({ Successful: [], Failed: [] });
    sqs.on(DeleteQueueCommand).resolves({});
    // What the temporary rule would deliver: the events the handlers put on the (local) bus since the last look, as EventBridge events.
    sqs.on(ReceiveMessageCommand).callsFake(async () => {
      const lines = (await readFile(eventsFile, 'utf8')).split('\n').filter(Boolean);
      const fresh = lines.slice(eventsRead);
      eventsRead = lines.length;
      return {
        Messages: fresh.map((line, i) => {
          // The file sink's line: the entry, its Detail as the text PutEvents would get.
          const entry = JSON.parse(line) as { source: string; detailType: string; detail: string };
          return { MessageId: `m${i}`, ReceiptHandle: `h${i}`, Body: JSON.stringify({ source: entry.source, 'detail-type': entry.detailType, detail: JSON.parse(entry.detail) as unknown }) };
        }),
      };
    });
    eb.on(PutRuleCommand).resolves({ RuleArn: RULE_ARN });
    eb.on(PutTargetsCommand).resolves({ FailedEntryCount: 0, FailedEntries: [] });
    eb.on(RemoveTargetsCommand).resolves({ FailedEntryCount: 0 });
    eb.on(DeleteRuleCommand).resolves({});
  });

  const run = async (args: SmokeArgs): Promise<{ target: Awaited<ReturnType<typeof awsTarget>>; lines: string[]; code?: number; checks?: SmokeCheck[] }> => {
    const lines: string[] = [];
    const io = { ...ioCollecting(lines), sleep: async () => undefined };
    eventsRead = (await readFile(eventsFile, 'utf8').catch(() => '')).split('\n').filter(Boolean).length;
    const target = await awsTarget(args, clients, io);
    if (!target.ok) return { target, lines };
    return { target, lines, ...(await runSmoke(target.value, args, io)) };
  };
  const awsArgs = (overrides: Partial<SmokeArgs> = {}): SmokeArgs => ({ stack: 'SignedCallbackReceivers', local: false, waitMs: 0, settleMs: 10_000, ...overrides });

  it('reads outputs and secrets, sends to the API and the function URL, sees each webhook event through a temporary rule and queue, then removes both', async () => {
    const { code, checks, lines } = await run(awsArgs());
    expect(checks!.filter((c) => !c.passed)).toEqual([]);
    expect(code).toBe(0);
    expect(checks).toHaveLength(2 * 2 * routeCount);
    expect(new Set(checks!.map((c) => c.via))).toEqual(new Set(['api', 'function']));
    expect(checks!.filter((c) => c.reachedBus === true)).toHaveLength(2 * webhookRouteCount);

    expect(cfn.commandCalls(DescribeStacksCommand).map((c) => c.args[0].input)).toEqual([{ StackName: 'SignedCallbackReceivers' }]);
    expect(sm.commandCalls(GetSecretValueCommand).map((c) => c.args[0].input)).toEqual(
      providers.flatMap((p) => p.routes.map(() => ({ SecretId: `SignedCallbackReceivers/${p.id}/signing-secret` }))),
    );
    const [createQueue] = sqs.commandCalls(CreateQueueCommand).map((c) => c.args[0].input);
    expect(createQueue).toEqual({ QueueName: expect.stringMatching(/^smoke-[0-9a-f]{8}$/), Attributes: { SqsManagedSseEnabled: 'true', MessageRetentionPeriod: '900' } });
    const id = createQueue!.QueueName!;
    expect(sqs.commandCalls(GetQueueAttributesCommand).map((c) => c.args[0].input)).toEqual([{ QueueUrl: QUEUE_URL, AttributeNames: ['QueueArn'] }]);
    const [putRule] = eb.commandCalls(PutRuleCommand).map((c) => c.args[0].input);
    expect(putRule).toMatchObject({ Name: id, EventBusName: 'WebhookBus', State: 'ENABLED' });
    const pattern = JSON.parse(putRule!.EventPattern!);
    expect(pattern.source).toEqual([{ prefix: 'webhooks.' }]);
    expect(pattern.detail.delivery.dedupeKey).toHaveLength(2 * webhookRouteCount);
    const policy = JSON.parse(sqs.commandCalls(SetQueueAttributesCommand)[0]!.args[0].input.Attributes!.Policy!);
    expect(policy.Statement).toEqual([
      { Sid: 'FromTheSmokeRuleOnly', Effect: 'Allow', Principal: { Service: 'events.amazonaws.com' }, Action: 'sqs:SendMessage', Resource: QUEUE_ARN, Condition: { ArnEquals: { 'aws:SourceArn': RULE_ARN } } },
      { Sid: 'TlsOnly', Effect: 'Deny', Principal: '*', Action: 'sqs:*', Resource: QUEUE_ARN, Condition: { Bool: { 'aws:SecureTransport': 'false' } } },
    ]);
    expect(eb.commandCalls(PutTargetsCommand).map((c) => c.args[0].input)).toEqual([{ Rule: id, EventBusName: 'WebhookBus', Targets: [{ Id: 'smoke-queue', Arn: QUEUE_ARN }] }]);
    expect(sqs.commandCalls(ReceiveMessageCommand)[0]!.args[0].input).toEqual({ QueueUrl: QUEUE_URL, MaxNumberOfMessages: 10, WaitTimeSeconds: 0, VisibilityTimeout: 30 });
    expect(sqs.commandCalls(DeleteMessageBatchCommand)[0]!.args[0].input).toMatchObject({ QueueUrl: QUEUE_URL, Entries: expect.arrayContaining([{ Id: '0', ReceiptHandle: 'h0' }]) });
    // Removed when done: target, then rule, then queue.
    expect(eb.commandCalls(RemoveTargetsCommand).map((c) => c.args[0].input)).toEqual([{ Rule: id, EventBusName: 'WebhookBus', Ids: ['smoke-queue'] }]);
    expect(eb.commandCalls(DeleteRuleCommand).map((c) => c.args[0].input)).toEqual([{ Name: id, EventBusName: 'WebhookBus' }]);
    expect(sqs.commandCalls(DeleteQueueCommand).map((c) => c.args[0].input)).toEqual([{ QueueUrl: QUEUE_URL }]);
    const secrets = Object.values(stack.secrets).flatMap((s) => Object.values(JSON.parse(s!) as Record<string, string>));
    for (const value of secrets) expect(lines.join('\n')).not.toContain(value);
  });

  it('--providers buddy: no webhook, so no rule and no queue', async () => {
    const { code } = await run(awsArgs({ providers: ['buddy'] }));
    expect(code).toBe(0);
    expect(sqs.commandCalls(CreateQueueCommand)).toHaveLength(0);
    expect(eb.commandCalls(PutRuleCommand)).toHaveLength(0);
  });

  it('a secret still holding its placeholder: the signed checks fail saying so, nothing is sent with it', async () => {
    sm.on(GetSecretValueCommand).resolves({ SecretString: JSON.stringify({ signingSecret: 'REPLACE_WITH_signingSecret' }) });
    const { code, checks } = await run(awsArgs({ providers: ['talki'] }));
    expect(code).toBe(1);
    expect(checks).toEqual([
      { provider: 'talki', route: '/talki/customer', via: 'api', request: 'signed', passed: false, note: expect.stringMatching(/still holds its placeholder/) },
      { provider: 'talki', route: '/talki/customer', via: 'function', request: 'signed', passed: false, note: expect.stringMatching(/still holds its placeholder/) },
    ]);
  });

  it('PutTargets refuses the queue: webhook checks fail, and the rule and queue created so far are removed', async () => {
    eb.on(PutTargetsCommand).resolves({ FailedEntryCount: 1, FailedEntries: [{ TargetId: 'smoke-queue', ErrorCode: 'AccessDenied', ErrorMessage: 'not allowed' }] });
    const { code, checks, lines } = await run(awsArgs({ providers: ['buddystat'] }));
    expect(code).toBe(1);
    expect(lines).toContain('warning: PutTargets refused the queue: not allowed; webhook events cannot be checked');
    expect(checks!.find((c) => c.request === 'signed')).toMatchObject({ status: 200, passed: false, note: 'answered 200, but the bus could not be watched' });
    expect(eb.commandCalls(RemoveTargetsCommand)).toHaveLength(0);
    expect(eb.commandCalls(DeleteRuleCommand)).toHaveLength(1);
    expect(sqs.commandCalls(DeleteQueueCommand)).toHaveLength(1);
  });

  it('an event that never reaches the bus: the signed webhook check fails', async () => {
    sqs.on(ReceiveMessageCommand).resolves({ Messages: [] });
    const { code, checks } = await run(awsArgs({ providers: ['bullseye'] }));
    expect(code).toBe(1);
    expect(checks!.filter((c) => c.request === 'signed').map((c) => [c.reachedBus, c.note])).toEqual(Array(4).fill([false, 'answered 200 but no event on the bus within 0 s']));
  });

  it('a provider the stack does not deploy, or no stack: a clear error before anything is sent', async () => {
    cfn.on(DescribeStacksCommand).resolves({ Stacks: [{ StackName: 'S', CreationTime: new Date(), StackStatus: 'CREATE_COMPLETE', Outputs: [{ OutputKey: 'BuddySecretName', OutputValue: 'S/buddy/signing-secret' }] }] });
    expect((await run(awsArgs({ providers: ['helper'] }))).target).toEqual({ ok: false, error: 'stack SignedCallbackReceivers does not deploy helper (it deploys buddy)' });
    cfn.on(DescribeStacksCommand).rejects(Object.assign(new Error('Stack with id SignedCallbackReceivers does not exist'), { name: 'ValidationError' }));
    expect((await run(awsArgs())).target).toEqual({ ok: false, error: 'cannot read stack SignedCallbackReceivers: ValidationError: Stack with id SignedCallbackReceivers does not exist' });
  });
});
