import { randomBytes } from 'node:crypto';
import { open, stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { DeleteRuleCommand, EventBridgeClient, PutRuleCommand, PutTargetsCommand, RemoveTargetsCommand } from '@aws-sdk/client-eventbridge';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { CreateQueueCommand, DeleteMessageBatchCommand, DeleteQueueCommand, GetQueueAttributesCommand, ReceiveMessageCommand, SetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { readOptions, runCommand, usageExit } from '../local/cli.js';
import { DEFAULT_PORT, eventsFileFromEnv, loadLocalSecrets, portFromEnv, secretsFileFromEnv } from '../local/defaults.js';
import { anotherSecret, buildPlatformRequest, defaultEventType, sendPlatformRequest, signingSecretFor, type PlatformRequest } from '../local/platform-requests.js';
import { EVENT_SOURCE_PREFIX } from '../shared/events/event.js';
import { dedupeKeyFor } from '../shared/events/forward.js';
import { PROVIDER_IDS, PROVIDERS, providerById, type ProviderDefinition, type ProviderId, type RegisteredProvider, type RouteDefinition } from '../shared/providers.js';
import { PLACEHOLDER_PREFIX } from '../shared/secrets/cache.js';
import { awsErrorText, DEFAULT_STACK_NAME, readStackOutputs, sleep, type Outcome } from './stack-outputs.js';

/**
 * npm run smoke -- [--stack NAME] [--providers a,b] | --local [--url URL]
 *
 * Does the deployed stack verify a signed request end to end? For each provider and route, and for
 * each URL the stack gives it (the HTTP API route and the function URL): one request built and
 * signed exactly as the platform builds it with the secret read from Secrets Manager (never
 * printed), and one signed with a wrong secret. Webhooks must answer 200 and their event must reach
 * the bus, seen through a temporary rule to a temporary SQS queue that the command creates and
 * removes; lookups must verify (200, or 404 for a customer this deployment does not know); every
 * mis-signed request must get 401. `--local` runs the same checks against `npm start`
 * (local/events.jsonl plays the bus).
 */
const USAGE = `usage: npm run smoke -- [options]

  --stack NAME          the deployed stack (default ${DEFAULT_STACK_NAME})
  --providers a,b       only these providers (default: every provider the stack deploys): ${PROVIDER_IDS.join(', ')}
  --wait-seconds N      how long to wait for webhook events to reach the bus (default 30; local 5)
  --settle-seconds N    pause after creating the temporary rule, before sending (default 10): new rules take a moment to apply
  --local               check the local server (npm start) instead: secrets from ${secretsFileFromEnv()}, events from ${eventsFileFromEnv()}
  --url URL             with --local: the server's URL (default http://127.0.0.1:\${PORT:-${DEFAULT_PORT}})

Against AWS it needs credentials that may read the stack, its secrets, and create/delete an EventBridge
rule and an SQS queue (it removes both when done). Exit 0 when every check passed.`;

export interface SmokeArgs {
  readonly stack: string;
  readonly providers?: readonly ProviderId[];
  readonly local: boolean;
  readonly url?: string;
  readonly waitMs: number;
  readonly settleMs: number;
}

export type ParsedSmoke = { readonly ok: true; readonly args: SmokeArgs } | { readonly ok: false; readonly help: boolean; readonly error?: string };

function seconds(value: string | undefined, name: string, fallback: number): Outcome<number> {
  if (value === undefined) return { ok: true, value: fallback * 1000 };
  const n = Number(value);
  return Number.isFinite(n) && n >= 0 ? { ok: true, value: n * 1000 } : { ok: false, error: `--${name}: expected a number of seconds` };
}

export function parseSmokeArgs(argv: readonly string[]): ParsedSmoke {
  const read = readOptions(argv, {
    stack: { type: 'string', default: DEFAULT_STACK_NAME },
    providers: { type: 'string' },
    local: { type: 'boolean', default: false },
    url: { type: 'string' },
    'wait-seconds': { type: 'string' },
    'settle-seconds': { type: 'string' },
    help: { type: 'boolean', short: 'h', default: false },
  });
  if (!read.ok) return read;
  const { values } = read;
  if (read.positionals.length > 0) return { ok: false, help: false, error: `unexpected argument "${read.positionals[0]}"` };
  const fail = (error: string): ParsedSmoke => ({ ok: false, help: false, error });
  let providers: ProviderId[] | undefined;
  if (values.providers !== undefined) {
    const listed = values.providers.split(',').map((s) => s.trim()).filter(Boolean);
    const unknown = listed.filter((id) => !providerById(id));
    if (listed.length === 0) return fail('--providers: expected a comma-separated list of provider ids');
    if (unknown.length > 0) return fail(`--providers: unknown ${unknown.map((id) => `"${id}"`).join(', ')} (known: ${PROVIDER_IDS.join(', ')})`);
    providers = PROVIDER_IDS.filter((id) => listed.includes(id));
  }
  if (values.url !== undefined && !values.local) return fail('--url is for --local; against AWS the URLs come from the stack outputs');
  if (values.url !== undefined) {
    try {
      new URL(values.url);
    } catch {
      return fail(`--url: not a URL: ${values.url}`);
    }
  }
  const wait = seconds(values['wait-seconds'], 'wait-seconds', values.local ? 5 : 30);
  if (!wait.ok) return fail(wait.error);
  const settle = seconds(values['settle-seconds'], 'settle-seconds', values.local ? 0 : 10);
  if (!settle.ok) return fail(settle.error);
  return {
    ok: true,
    args: {
      stack: values.stack,
      local: values.local,
      waitMs: wait.value,
      settleMs: settle.value,
      ...(providers ? { providers } : {}),
      ...(values.url !== undefined ? { url: values.url } : {}),
    },
  };
}

/** Where one route is reached: the HTTP API route, the function URL, or the local server. */
export interface RouteUrl {
  readonly kind: 'api' | 'function' | 'local';
  readonly url: string;
}

export interface SmokeEndpoint {
  readonly provider: RegisteredProvider;
  readonly route: RouteDefinition;
  readonly urls: readonly RouteUrl[];
}

/** Watches the bus for the events the signed webhook requests should put there. */
export interface BusWatch {
  /** Before anything is sent: get ready to see events with these de-duplication keys. */
  start(keys: readonly string[]): Promise<Outcome<void>>;
  /** The keys seen so far, waiting up to `waitMs` for the rest. */
  seen(keys: readonly string[], waitMs: number): Promise<ReadonlySet<string>>;
  /** Removes whatever `start` created; safe to call after a failed start. */
  stop(): Promise<void>;
  /** What the report calls the bus. */
  readonly name: string;
}

export interface SmokeTarget {
  readonly endpoints: readonly SmokeEndpoint[];
  /** A provider's secret value as stored (JSON of named keys, or a plain string). */
  secret(provider: RegisteredProvider): Promise<Outcome<string>>;
  readonly bus: BusWatch;
}

export interface SmokeCheck {
  readonly provider: ProviderId;
  readonly route: string;
  readonly via: RouteUrl['kind'];
  readonly request: 'signed' | 'mis-signed';
  /** HTTP status, or undefined when no answer came. */
  readonly status?: number;
  readonly latencyMs?: number;
  /** Webhooks, signed: whether the event reached the bus. */
  readonly reachedBus?: boolean;
  readonly passed: boolean;
  /** Why it failed, or what to know about a pass; never a secret or a body. */
  readonly note?: string;
}

// ---------------------------------------------------------------------------------------------
// Targets: the deployed stack, or the local server.

function pascal(word: string): string {
  return word.charAt(0).toUpperCase() + word.slice(1);
}

/**
 * A route's URLs among the stack outputs: `<Provider>[<Route>]ApiUrl` and `...FunctionUrl`, found by
 * their provider prefix and the route path they end with (so the naming stays ProviderEndpoint's).
 */
export function routeUrlsFromOutputs(outputs: Readonly<Record<string, string>>, provider: ProviderDefinition, route: RouteDefinition): RouteUrl[] {
  const urls: RouteUrl[] = [];
  for (const [kind, suffix] of [['api', 'ApiUrl'], ['function', 'FunctionUrl']] as const) {
    const found = Object.entries(outputs).find(([key, value]) => key.startsWith(pascal(provider.id)) && key.endsWith(suffix) && value.replace(/\/+$/, '').endsWith(route.path));
    if (found) urls.push({ kind, url: found[1] });
  }
  return urls;
}

export interface AwsClients {
  readonly cloudFormation: CloudFormationClient;
  readonly secretsManager: SecretsManagerClient;
  readonly eventBridge: EventBridgeClient;
  readonly sqs: SQSClient;
}

export async function awsTarget(args: SmokeArgs, clients: AwsClients, io: SmokeIo): Promise<Outcome<SmokeTarget>> {
  const outputs = await readStackOutputs(clients.cloudFormation, args.stack);
  if (!outputs.ok) return outputs;
  const deployed = PROVIDER_IDS.filter((id) => outputs.value[`${pascal(id)}SecretName`] !== undefined);
  const chosen = args.providers ?? deployed;
  const missing = chosen.filter((id) => !deployed.includes(id));
  if (missing.length > 0) return { ok: false, error: `stack ${args.stack} does not deploy ${missing.join(', ')} (it deploys ${deployed.join(', ') || 'none'})` };
  const endpoints = chosen.flatMap((id) => {
    const provider: RegisteredProvider = PROVIDERS[id];
    return provider.routes.map((route) => ({ provider, route, urls: routeUrlsFromOutputs(outputs.value, provider, route) }));
  });
  const busName = outputs.value.EventBusName;
  const needsBus = endpoints.some((e) => e.provider.kind === 'webhook');
  if (needsBus && !busName) return { ok: false, error: `stack ${args.stack} has webhook providers but no EventBusName output` };
  return {
    ok: true,
    value: {
      endpoints,
      secret: async (provider) => {
        const secretId = outputs.value[`${pascal(provider.id)}SecretName`]!;
        try {
          const answer = await clients.secretsManager.send(new GetSecretValueCommand({ SecretId: secretId }));
          return answer.SecretString === undefined ? { ok: false, error: `secret ${secretId} holds no string` } : { ok: true, value: answer.SecretString };
        } catch (error) {
          return { ok: false, error: `cannot read secret ${secretId}: ${awsErrorText(error)}` };
        }
      },
      bus: new TemporaryQueueWatch(busName ?? '', clients, io, args.settleMs),
    },
  };
}

/**
 * The bus seen through a temporary rule (matching exactly the de-duplication keys this run sends)
 * to a temporary SQS queue only that rule may write to; `stop` removes the target, the rule and the
 * queue. The queue is encrypted and refuses requests without TLS, like every queue in the stack.
 */
export class TemporaryQueueWatch implements BusWatch {
  readonly name: string;
  private readonly id = `smoke-${randomBytes(4).toString('hex')}`;
  private queueUrl: string | undefined;
  private ruleCreated = false;
  private targetAdded = false;
  private readonly found = new Set<string>();

  constructor(
    private readonly busName: string,
    private readonly clients: Pick<AwsClients, 'eventBridge' | 'sqs'>,
    private readonly io: SmokeIo,
    private readonly settleMs: number,
  ) {
    this.name = `bus ${busName}`;
  }

  async start(keys: readonly string[]): Promise<Outcome<void>> {
    const { eventBridge, sqs } = this.clients;
    try {
      const created = await sqs.send(new CreateQueueCommand({ QueueName: this.id, Attributes: { SqsManagedSseEnabled: 'true', MessageRetentionPeriod: '900' } }));
      this.queueUrl = created.QueueUrl;
      const attributes = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: this.queueUrl, AttributeNames: ['QueueArn'] }));
      const queueArn = attributes.Attributes?.QueueArn;
      if (!queueArn) return { ok: false, error: `the temporary queue ${this.id} has no ARN` };
      const rule = await eventBridge.send(
        new PutRuleCommand({
          Name: this.id,
          EventBusName: this.busName,
          Description: 'npm run smoke: temporary, removed when the smoke test ends',
          EventPattern: JSON.stringify({ source: [{ prefix: EVENT_SOURCE_PREFIX }], detail: { delivery: { dedupeKey: [...keys] } } }),
          State: 'ENABLED',
        }),
      );
      this.ruleCreated = true;
      await sqs.send(
        new SetQueueAttributesCommand({
          QueueUrl: this.queueUrl,
          Attributes: {
            Policy: JSON.stringify({
              Version: '2012-10-17',
              Statement: [
                { Sid: 'FromTheSmokeRuleOnly', Effect: 'Allow', Principal: { Service: 'events.amazonaws.com' }, Action: 'sqs:SendMessage', Resource: queueArn, Condition: { ArnEquals: { 'aws:SourceArn': rule.RuleArn } } },
                { Sid: 'TlsOnly', Effect: 'Deny', Principal: '*', Action: 'sqs:*', Resource: queueArn, Condition: { Bool: { 'aws:SecureTransport': 'false' } } },
              ],
            }),
          },
        }),
      );
      const targets = await eventBridge.send(new PutTargetsCommand({ Rule: this.id, EventBusName: this.busName, Targets: [{ Id: 'smoke-queue', Arn: queueArn }] }));
      // PutTargets answers 200 with the failures listed inside.
      if ((targets.FailedEntryCount ?? 0) > 0) return { ok: false, error: `PutTargets refused the queue: ${targets.FailedEntries?.[0]?.ErrorMessage ?? 'no reason given'}` };
      this.targetAdded = true;
      if (this.settleMs > 0) await this.io.sleep(this.settleMs);
      return { ok: true, value: undefined };
    } catch (error) {
      return { ok: false, error: `cannot set up the temporary rule and queue: ${awsErrorText(error)}` };
    }
  }

  async seen(keys: readonly string[], waitMs: number): Promise<ReadonlySet<string>> {
    const deadline = this.io.clock() + waitMs;
    while (this.queueUrl && keys.some((key) => !this.found.has(key))) {
      const remainingS = Math.max(0, Math.ceil((deadline - this.io.clock()) / 1000));
      const received = await this.clients.sqs.send(
        new ReceiveMessageCommand({ QueueUrl: this.queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: Math.min(20, remainingS), VisibilityTimeout: 30 }),
      );
      const messages = received.Messages ?? [];
      for (const message of messages) {
        const key = dedupeKeyOfEvent(message.Body);
        if (key) this.found.add(key);
      }
      const handles = messages.flatMap((m, i) => (m.ReceiptHandle ? [{ Id: String(i), ReceiptHandle: m.ReceiptHandle }] : []));
      if (handles.length > 0) await this.clients.sqs.send(new DeleteMessageBatchCommand({ QueueUrl: this.queueUrl, Entries: handles }));
      if (this.io.clock() >= deadline) break;
    }
    return this.found;
  }

  async stop(): Promise<void> {
    const { eventBridge, sqs } = this.clients;
    const attempt = async (what: string, step: () => Promise<unknown>) => {
      try {
        await step();
      } catch (error) {
        this.io.print(`warning: could not remove ${what} (${awsErrorText(error)}); remove it by hand`);
      }
    };
    if (this.targetAdded) await attempt(`the target of rule ${this.id}`, () => eventBridge.send(new RemoveTargetsCommand({ Rule: this.id, EventBusName: this.busName, Ids: ['smoke-queue'] })));
    if (this.ruleCreated) await attempt(`rule ${this.id} on ${this.busName}`, () => eventBridge.send(new DeleteRuleCommand({ Name: this.id, EventBusName: this.busName })));
    if (this.queueUrl) await attempt(`queue ${this.queueUrl}`, () => sqs.send(new DeleteQueueCommand({ QueueUrl: this.queueUrl })));
  }
}

/** `detail.delivery.dedupeKey` of an EventBridge event (SQS body) or of a local events.jsonl line (`detail` as text). */
export function dedupeKeyOfEvent(text: string | undefined): string | undefined {
  if (!text) return undefined;
  try {
    const event = JSON.parse(text) as { detail?: string | { delivery?: { dedupeKey?: unknown } }; delivery?: { dedupeKey?: unknown } };
    // An events.jsonl line carries Detail as the text PutEvents would get.
    const detail = typeof event.detail === 'string' ? (JSON.parse(event.detail) as { delivery?: { dedupeKey?: unknown } }) : event.detail;
    const key = detail?.delivery?.dedupeKey ?? event.delivery?.dedupeKey;
    return typeof key === 'string' ? key : undefined;
  } catch {
    return undefined;
  }
}

/** The local server's bus: the JSON lines the file sink appends (npm start's LOCAL_EVENTS_FILE). */
export class EventsFileWatch implements BusWatch {
  readonly name: string;
  private offset = 0;
  private readonly found = new Set<string>();

  constructor(
    private readonly file: string,
    private readonly io: SmokeIo,
  ) {
    this.name = `events file ${file}`;
  }

  async start(): Promise<Outcome<void>> {
    this.offset = await stat(this.file).then((s) => s.size, () => 0);
    return { ok: true, value: undefined };
  }

  async seen(keys: readonly string[], waitMs: number): Promise<ReadonlySet<string>> {
    const deadline = this.io.clock() + waitMs;
    for (;;) {
      await this.readAppended();
      if (keys.every((key) => this.found.has(key)) || this.io.clock() >= deadline) return this.found;
      await this.io.sleep(100);
    }
  }

  private async readAppended(): Promise<void> {
    const size = await stat(this.file).then((s) => s.size, () => 0);
    if (size <= this.offset) return;
    const handle = await open(this.file, 'r');
    try {
      const buffer = Buffer.alloc(size - this.offset);
      await handle.read(buffer, 0, buffer.length, this.offset);
      const complete = buffer.lastIndexOf(0x0a) + 1;
      this.offset += complete;
      for (const line of buffer.subarray(0, complete).toString('utf8').split('\n')) {
        const key = dedupeKeyOfEvent(line);
        if (key) this.found.add(key);
      }
    } finally {
      await handle.close();
    }
  }

  async stop(): Promise<void> {}
}

export async function localTarget(args: SmokeArgs, io: SmokeIo, files: { secretsFile?: string; eventsFile?: string } = {}): Promise<Outcome<SmokeTarget>> {
  const secretsFile = files.secretsFile ?? secretsFileFromEnv();
  const secrets = await loadLocalSecrets(secretsFile);
  if (!secrets.ok) return { ok: false, error: secrets.error };
  const baseUrl = args.url ?? `http://127.0.0.1:${portFromEnv()}`;
  const chosen = args.providers ?? PROVIDER_IDS;
  return {
    ok: true,
    value: {
      endpoints: chosen.flatMap((id) => {
        const provider: RegisteredProvider = PROVIDERS[id];
        return provider.routes.map((route) => ({ provider, route, urls: [{ kind: 'local' as const, url: baseUrl }] }));
      }),
      secret: async (provider) => {
        const value = secrets.value[provider.id];
        return value === undefined ? { ok: false, error: `${secretsFile} has no ${provider.id} secret` } : { ok: true, value };
      },
      bus: new EventsFileWatch(files.eventsFile ?? eventsFileFromEnv(), io),
    },
  };
}

// ---------------------------------------------------------------------------------------------
// The checks.

export interface SmokeIo {
  readonly print: (line: string) => void;
  /** Epoch ms: timestamps in the requests, and the wait for the bus. */
  readonly clock: () => number;
  readonly sleep: (ms: number) => Promise<void>;
}

interface Planned {
  readonly endpoint: SmokeEndpoint;
  readonly url: RouteUrl;
  readonly kind: SmokeCheck['request'];
  readonly request: PlatformRequest;
  /** Signed webhooks: the key the event will carry on the bus. */
  readonly dedupeKey?: string;
}

/**
 * The de-duplication key the receiver will give this request's event (shared/webhook.ts): the
 * delivery id when the provider's registry entry names a header for it, else the body's hash (the
 * bodies built here carry no delivery id of their own).
 */
function expectedDedupeKey(provider: ProviderDefinition, request: PlatformRequest): string {
  const header = provider.genericWebhook?.deliveryIdHeader?.toLowerCase();
  const deliveryId = header === undefined ? undefined : request.headers.find(([name]) => name.toLowerCase() === header)?.[1];
  return dedupeKeyFor(provider.id, request.body ?? '', deliveryId);
}

/** The event type the smoke test's events carry for a generic webhook sender, whose payloads have no test marker. */
export const SMOKE_EVENT_TYPE = 'smoke.test';

/** What a verified request answers: webhooks 200; lookups 200, or 404 for a customer this deployment does not have. */
function verifiedAnswer(provider: ProviderDefinition, status: number): boolean {
  return status === 200 || (provider.kind === 'lookup' && status === 404);
}

/**
 * Runs every check against a target and prints the report. Requests go one at a time, so the
 * latencies are the endpoint's, not the laptop's contention.
 */
export async function runSmoke(target: SmokeTarget, args: SmokeArgs, io: SmokeIo): Promise<{ code: number; checks: SmokeCheck[] }> {
  const checks: SmokeCheck[] = [];
  const planned: Planned[] = [];
  let step = 0;
  for (const endpoint of target.endpoints) {
    const { provider, route } = endpoint;
    const base = { provider: provider.id, route: route.path };
    if (endpoint.urls.length === 0) {
      checks.push({ ...base, via: 'api', request: 'signed', passed: false, note: 'no URL output for this route' });
      continue;
    }
    const secretValue = await target.secret(provider);
    const secret = secretValue.ok ? signingSecretFor(secretValue.value, route) : undefined;
    const problem = !secretValue.ok
      ? secretValue.error
      : secret !== undefined
        ? undefined
        : secretValue.value.includes(PLACEHOLDER_PREFIX)
          ? `the secret's "${route.secretKey}" still holds its placeholder: paste the platform's secret (docs/deploy.md)`
          : `the secret has no "${route.secretKey}" value`;
    for (const url of endpoint.urls) {
      if (problem !== undefined || secret === undefined) {
        checks.push({ ...base, via: url.kind, request: 'signed', passed: false, note: problem });
        continue;
      }
      // Each request its own instant: webhook bodies then differ, so neither is a duplicate of another.
      // Webhooks go as the platform's "Send Test Webhook" would, so consumers can skip them: marked
      // `test` where the platform has such a marker, typed `smoke.test` for a sender the registry alone describes.
      const eventType = provider.genericWebhook ? SMOKE_EVENT_TYPE : (route.eventFamily ?? defaultEventType(provider.id));
      const build = (signingSecret: string) =>
        buildPlatformRequest(provider.id, { secret: signingSecret, now: io.clock() + step++, test: provider.kind === 'webhook', ...(eventType !== undefined ? { eventType } : {}) });
      const signed = build(secret);
      planned.push({
        endpoint,
        url,
        kind: 'signed',
        request: signed,
        ...(provider.kind === 'webhook' && signed.body !== undefined ? { dedupeKey: expectedDedupeKey(provider, signed) } : {}),
      });
      planned.push({ endpoint, url, kind: 'mis-signed', request: build(anotherSecret(secret)) });
    }
  }

  const keys = planned.flatMap((p) => (p.dedupeKey ? [p.dedupeKey] : []));
  let busReady: Outcome<void> = { ok: true, value: undefined };
  try {
    if (keys.length > 0) {
      io.print(`watching ${target.bus.name} for ${keys.length} webhook event(s)`);
      busReady = await target.bus.start(keys);
      if (!busReady.ok) io.print(`warning: ${busReady.error}; webhook events cannot be checked`);
    }
    const answers: { planned: Planned; status?: number; latencyMs?: number; error?: string }[] = [];
    for (const item of planned) {
      try {
        const response = await sendPlatformRequest(item.url.url, item.request, { timeoutMs: item.endpoint.provider.budget.platformTimeoutMs });
        answers.push({ planned: item, status: response.status, latencyMs: response.latencyMs });
      } catch (error) {
        const timedOut = error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError');
        answers.push({ planned: item, error: timedOut ? `no answer within ${item.endpoint.provider.budget.platformTimeoutMs} ms` : `request failed: ${error instanceof Error && error.cause instanceof Error ? error.cause.message : String(error)}` });
      }
    }
    const expectedKeys = answers.flatMap((a) => (a.planned.dedupeKey && a.status === 200 ? [a.planned.dedupeKey] : []));
    const seen = busReady.ok && expectedKeys.length > 0 ? await target.bus.seen(expectedKeys, args.waitMs) : new Set<string>();

    for (const { planned: item, status, latencyMs, error } of answers) {
      const { provider, route } = item.endpoint;
      const base = { provider: provider.id, route: route.path, via: item.url.kind, request: item.kind, ...(status !== undefined ? { status } : {}), ...(latencyMs !== undefined ? { latencyMs } : {}) };
      if (status === undefined) {
        checks.push({ ...base, passed: false, note: error });
      } else if (item.kind === 'mis-signed') {
        checks.push({ ...base, passed: status === 401, ...(status === 401 ? {} : { note: 'a wrongly signed request must get 401' }) });
      } else if (!verifiedAnswer(provider, status)) {
        checks.push({ ...base, passed: false, note: status === 401 ? 'did not verify: the secret in Secrets Manager is not the one this request was signed with' : `expected ${provider.kind === 'webhook' ? '200' : '200 or 404'}` });
      } else if (item.dedupeKey === undefined) {
        checks.push({ ...base, passed: true, ...(status === 404 ? { note: 'verified; the sample customer is not in this deployment' } : {}) });
      } else if (!busReady.ok) {
        checks.push({ ...base, passed: false, note: 'answered 200, but the bus could not be watched' });
      } else {
        const reachedBus = seen.has(item.dedupeKey);
        checks.push({ ...base, reachedBus, passed: reachedBus, ...(reachedBus ? {} : { note: `answered 200 but no event on the bus within ${args.waitMs / 1000} s` }) });
      }
    }
  } finally {
    if (keys.length > 0) await target.bus.stop();
  }

  for (const line of report(checks)) io.print(line);
  return { code: checks.length > 0 && checks.every((c) => c.passed) ? 0 : 1, checks };
}

/** The report: one line per check, then the totals. */
export function report(checks: readonly SmokeCheck[]): string[] {
  const rows = checks.map((c) => [
    c.passed ? 'ok' : 'FAIL',
    c.provider,
    c.route,
    c.via,
    c.request,
    c.status === undefined ? '-' : String(c.status),
    c.latencyMs === undefined ? '-' : `${c.latencyMs.toFixed(0)} ms`,
    c.reachedBus === undefined ? '-' : c.reachedBus ? 'on the bus' : 'NOT on the bus',
    c.note ?? '',
  ]);
  const header = ['', 'provider', 'route', 'via', 'request', 'status', 'latency', 'event', ''];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((cell, i) => cell.padEnd(widths[i]!)).join('  ').trimEnd();
  const failed = checks.filter((c) => !c.passed).length;
  return [line(header), ...rows.map(line), `${checks.length} checks: ${checks.length - failed} passed, ${failed} failed`];
}

export async function main(argv: string[], clients?: AwsClients, io?: Partial<SmokeIo>): Promise<number> {
  const parsed = parseSmokeArgs(argv);
  if (!parsed.ok) return usageExit(parsed, USAGE);
  const fullIo: SmokeIo = { print: (line) => console.log(line), clock: Date.now, sleep, ...io };
  const { args } = parsed;
  const target = args.local
    ? await localTarget(args, fullIo)
    : await awsTarget(
        args,
        clients ?? { cloudFormation: new CloudFormationClient({}), secretsManager: new SecretsManagerClient({}), eventBridge: new EventBridgeClient({}), sqs: new SQSClient({}) },
        fullIo,
      );
  if (!target.ok) {
    fullIo.print(`smoke: ${target.error}`);
    return 1;
  }
  fullIo.print(args.local ? `smoke test of the local server at ${args.url ?? `http://127.0.0.1:${portFromEnv()}`}` : `smoke test of stack ${args.stack}`);
  return (await runSmoke(target.value, args, fullIo)).code;
}

// Run only as the entry point, so tests can import it.
if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) runCommand((argv) => main(argv));
