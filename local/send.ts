import { PROVIDER_IDS, PROVIDERS, type ProviderId } from '../shared/providers.js';
import { readCommand, runCommand, usageError } from './cli.js';
import { DEFAULT_PORT, loadLocalSecrets, portFromEnv, secretsFileFromEnv } from './defaults.js';
import {
  anotherSecret,
  buildPlatformRequest,
  defaultEventType,
  eventTypesFor,
  requestUrl,
  routeFor,
  sendPlatformRequest,
  signingSecretFor,
  type PlatformRequestOptions,
} from './platform-requests.js';

/**
 * npm run send -- <provider> [options]: our "Send Test Webhook" for every platform. Builds the
 * request exactly as the platform would (headers, body or query, signature), sends it to the local
 * server or a deployed function URL, and prints status, latency and the response.
 */
const STALE_BY_MS = 10 * 60 * 1000;

const USAGE = `usage: npm run send -- <provider> [options]

  <provider>               ${PROVIDER_IDS.join(' | ')}
  --event TYPE             webhooks: bullseye ${eventTypesFor('bullseye').join('|')}; buddystat ${eventTypesFor('buddystat').join('|')}; standardwebhooks: any type
  --url URL                where to send (a deployed function URL); default http://localhost:\${PORT:-${DEFAULT_PORT}}
  --secret S               the signing secret (or the whole secret JSON); default: the dev secret in ${secretsFileFromEnv()}
  --email EMAIL            helper: the customer's email (also used in the bullseye identification example)
  --session ID             buddy: the session id
  --user ID                talki: the visitor id (userToken)
  --token-field NAME       talki: the "User token field" set in Talki's console (default userToken)
  --signature-header NAME  override the signature header (buddystat's is configurable)
  --test                   webhooks: mark it a "Send Test Webhook" delivery
  --stale                  sign a timestamp 10 minutes old (buddy, helper: expect 401)
  --bad-signature          sign with a wrong secret (expect 401)
  --verbose                print the request too`;

function fail(message: string): number {
  return usageError(message, USAGE);
}

async function main(argv: string[]): Promise<number> {
  const command = readCommand(
    argv,
    {
      event: { type: 'string' },
      url: { type: 'string' },
      secret: { type: 'string' },
      email: { type: 'string' },
      session: { type: 'string' },
      user: { type: 'string' },
      'token-field': { type: 'string' },
      'signature-header': { type: 'string' },
      test: { type: 'boolean', default: false },
      stale: { type: 'boolean', default: false },
      'bad-signature': { type: 'boolean', default: false },
      verbose: { type: 'boolean', short: 'v', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
    USAGE,
  );
  if (!command.ok) return command.exitCode;
  const { values } = command;
  const provider: ProviderId = command.provider.id;

  const events = eventTypesFor(provider);
  const eventType = values.event ?? defaultEventType(provider);
  if (values.event !== undefined && PROVIDERS[provider].kind === 'lookup') return fail(`${provider} is a lookup: it takes no --event`);
  // BuddyStat and generic webhook senders forward any type (BuddyStat marks those outside its doc's four unknown).
  if (provider === 'bullseye' && eventType !== undefined && !events.includes(eventType)) {
    return fail(`bullseye events: ${events.join(', ')}`);
  }
  const route = routeFor(provider, eventType);

  let secretValue = values.secret;
  if (secretValue === undefined) {
    const local = await loadLocalSecrets();
    if (!local.ok) return fail(local.error);
    secretValue = local.value[provider];
    if (secretValue === undefined) return fail(`no ${provider} secret in ${secretsFileFromEnv()}; pass --secret`);
  }
  const secret = signingSecretFor(secretValue, route);
  if (secret === undefined) return fail(`the secret has no "${route.secretKey}" key for ${route.path}`);

  const options: PlatformRequestOptions = {
    secret: values['bad-signature'] ? anotherSecret(secret) : secret,
    now: Date.now() - (values.stale ? STALE_BY_MS : 0),
    test: values.test,
    ...(eventType !== undefined ? { eventType } : {}),
    ...(values.email !== undefined ? { email: values.email } : {}),
    ...(values.session !== undefined ? { sessionId: values.session } : {}),
    ...(values.user !== undefined ? { userToken: values.user } : {}),
    ...(values['token-field'] !== undefined ? { tokenField: values['token-field'] } : {}),
    ...(values['signature-header'] !== undefined ? { signatureHeader: values['signature-header'] } : {}),
  };
  const request = buildPlatformRequest(provider, options);
  const baseUrl = values.url ?? `http://localhost:${portFromEnv()}`;
  let target: string;
  try {
    target = requestUrl(baseUrl, request);
  } catch {
    return fail(`not a URL: ${baseUrl}`);
  }

  console.log(`-> ${request.method} ${target}`);
  if (values.verbose) {
    for (const [name, value] of request.headers) console.log(`   ${name}: ${value}`);
    if (request.body !== undefined) console.log(`   ${request.body}`);
  }
  const timeoutMs = PROVIDERS[provider].budget.platformTimeoutMs;
  try {
    const response = await sendPlatformRequest(baseUrl, request, { timeoutMs });
    console.log(`<- ${response.status} ${response.statusText} in ${response.latencyMs.toFixed(1)} ms`);
    const contentType = response.headers.get('content-type') ?? '';
    let shown = response.body;
    if (contentType.includes('json')) {
      try {
        shown = JSON.stringify(JSON.parse(response.body), null, 2);
      } catch {
        // Not JSON after all: show it as it came.
      }
    }
    if (shown.length > 0) console.log(shown);
    return response.status >= 200 && response.status < 300 ? 0 : 1;
  } catch (error) {
    if (error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError')) {
      console.error(`<- no answer within ${timeoutMs} ms: ${command.provider.title} would give up here`);
      return 1;
    }
    const cause = error instanceof Error && error.cause instanceof Error ? `: ${error.cause.message}` : '';
    console.error(`<- request failed${cause || (error instanceof Error ? `: ${error.message}` : '')}`);
    if (values.url === undefined) console.error('   is the local server running? start it with `npm start`');
    return 1;
  }
}

runCommand(main);
