import { readFile } from 'node:fs/promises';
import { PROVIDER_IDS } from '../shared/providers.js';
import { readCommand, runCommand, usageError } from './cli.js';
import { diagnose, type DiagnoseInput } from './diagnose.js';
import { loadLocalSecrets, secretsFileFromEnv } from './defaults.js';

/**
 * npm run verify -- <provider> --secret S --signature SIG (--body-file F | --body '...' | --query '...') [--route /bullseye/billing]
 *
 * Says whether a captured request verifies and, if not, the likely reason. Exit code 0 when the
 * handler would accept it, 1 when not, 2 for bad usage.
 */
const USAGE = `usage: npm run verify -- <provider> --signature SIG (--body-file FILE | --body TEXT | --query QUERY) [options]

  <provider>          ${PROVIDER_IDS.join(' | ')}
  --signature SIG     the signature header's value as captured (Helper: the Authorization value, "Bearer " included)
  --body-file FILE    the captured body, byte for byte ("-" reads stdin)
  --body TEXT         the captured body as text
  --query QUERY       the captured query string (Helper), with or without "?", or the whole URL
  --secret S          the signing secret, or the whole secret JSON; default: the dev secret in ${secretsFileFromEnv()}
  --route PATH        the route the request came to (Bullseye: /bullseye/identification or /bullseye/billing)
  --id ID             Standard Webhooks: the webhook-id header as captured
  --timestamp T       Standard Webhooks: the webhook-timestamp header as captured
  --now SECONDS       the time to check the timestamp against (default: now)`;

async function readStdin(): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(Buffer.from(chunk as Buffer));
  return Buffer.concat(chunks);
}

async function main(argv: string[]): Promise<number> {
  const command = readCommand(
    argv,
    {
      secret: { type: 'string' },
      signature: { type: 'string' },
      'body-file': { type: 'string' },
      body: { type: 'string' },
      query: { type: 'string' },
      route: { type: 'string' },
      id: { type: 'string' },
      timestamp: { type: 'string' },
      now: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    USAGE,
  );
  if (!command.ok) return command.exitCode;
  const { values, provider } = command;
  if (values.signature === undefined) {
    return usageError('--signature is required', USAGE);
  }
  const sources = [values['body-file'], values.body, values.query].filter((v) => v !== undefined);
  if (sources.length !== 1) {
    return usageError('give exactly one of --body-file, --body, --query', USAGE);
  }

  let secret = values.secret;
  if (secret === undefined) {
    const local = await loadLocalSecrets();
    const value = local.ok ? local.value[provider.id] : undefined;
    if (value === undefined) {
      console.error(local.ok ? `no --secret, and no ${provider.id} secret in ${secretsFileFromEnv()}` : local.error);
      return 2;
    }
    secret = value;
    console.log(`(no --secret: using the dev secret for ${provider.id} from ${secretsFileFromEnv()})`);
  }

  let body: Buffer | undefined;
  if (values['body-file'] !== undefined) {
    try {
      body = values['body-file'] === '-' ? await readStdin() : await readFile(values['body-file']);
    } catch (error) {
      console.error(`cannot read ${values['body-file']}: ${error instanceof Error ? error.message : String(error)}`);
      return 2;
    }
  } else if (values.body !== undefined) body = Buffer.from(values.body, 'utf8');

  const nowSeconds = values.now === undefined ? undefined : Number(values.now);
  if (nowSeconds !== undefined && !Number.isFinite(nowSeconds)) {
    console.error('--now must be seconds since the epoch');
    return 2;
  }
  const input: DiagnoseInput = {
    provider: provider.id,
    secret,
    signature: values.signature,
    nowMs: nowSeconds === undefined ? Date.now() : nowSeconds * 1000,
    ...(body !== undefined ? { body } : {}),
    ...(values.query !== undefined ? { query: values.query } : {}),
    ...(values.route !== undefined ? { route: values.route } : {}),
    ...(values.id !== undefined ? { messageId: values.id } : {}),
    ...(values.timestamp !== undefined ? { timestamp: values.timestamp } : {}),
  };
  const result = diagnose(input);
  console.log(`${provider.id}: ${result.verified ? 'VERIFIED - the handler would accept this request' : 'NOT VERIFIED'}`);
  for (const finding of result.findings) console.log(`  - [${finding.code}] ${finding.message}`);
  if (result.expected && !result.verified) {
    const rule = provider.signature;
    const what = rule.scheme === 'standard-webhooks' ? 'webhook-signature for the id, timestamp and body' : `${rule.header} for the ${rule.signs}`;
    console.log(`\n${what} exactly as given, with that secret:\n  ${result.expected}`);
  }
  return result.verified ? 0 : 1;
}

runCommand(main);
