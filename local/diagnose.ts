import { PROVIDERS, type HmacSignatureRule, type ProviderDefinition, type ProviderId, type RouteDefinition, type StandardWebhooksRule } from '../shared/providers.js';
import { readSecretKey, SECRET_PROBLEMS } from '../shared/secrets/cache.js';
import { checkTimestamp } from '../shared/signing/replay.js';
import { signStandardWebhook, standardWebhooksContent, standardWebhooksKey, v1Signatures } from '../shared/signing/standard-webhooks.js';
import { decodeSignature, hmacSha256, sign, type SignatureEncoding, type SigningKey } from '../shared/signing/verify.js';

/**
 * Why doesn't this request verify? Given a captured body (or query), the signature header's value and
 * a secret, tries the request as captured and then the usual ways it gets changed between the
 * platform and your verifier, and names the first change that explains the signature. Pure: no I/O.
 */
export interface DiagnoseInput {
  readonly provider: ProviderId;
  /** The signing secret, or the whole stored secret value (JSON of named keys, as Secrets Manager holds it). */
  readonly secret: string;
  /** The signature header's value as captured (`Bearer ` included for Helper; every `v1,…` entry for Standard Webhooks). */
  readonly signature: string;
  /** Standard Webhooks: the `webhook-id` and `webhook-timestamp` headers as captured. */
  readonly messageId?: string;
  readonly timestamp?: string;
  /** The captured body bytes (body-signed providers). */
  readonly body?: Uint8Array | string;
  /** The captured query string (Helper): with or without `?`, or the whole URL. */
  readonly query?: string;
  /** The route the request came to, when the provider has several (Bullseye). */
  readonly route?: string;
  readonly nowMs: number;
}

export type FindingCode =
  | 'verified'
  | 'verified_variant'
  | 'missing_signature'
  | 'malformed_signature'
  | 'unexpected_prefix'
  | 'encoding_mismatch'
  | 'secret_whitespace'
  | 'secret_quoted'
  | 'secret_misconfigured'
  | 'wrong_route_secret'
  | 'reserialised_json'
  | 'pretty_printed'
  | 'trailing_newline_added'
  | 'trailing_newline_removed'
  | 'line_endings'
  | 'byte_order_mark'
  | 'query_reencoded'
  | 'query_order'
  | 'query_question_mark'
  | 'wrong_secret'
  | 'stale_timestamp'
  | 'missing_timestamp'
  | 'malformed_timestamp'
  | 'missing_webhook_headers'
  | 'no_input';

export interface Finding {
  readonly code: FindingCode;
  readonly message: string;
}

export interface Diagnosis {
  /** True when the handler would accept the request as captured: the signature and the timestamp. */
  readonly verified: boolean;
  /** The likely reasons, most important first (informational notes for a verified request). */
  readonly findings: readonly Finding[];
  /** The signature the platform would send for the bytes as given, with the secret for the route. */
  readonly expected?: string;
}

interface Variant<T> {
  readonly value: T;
  /** Why this variant differs from what was captured; none for the capture itself. */
  readonly code?: FindingCode;
  readonly message?: string;
  /** The handler also tries this form, so a match still verifies (BuddyStat's compact JSON, Helper's re-encoded query). */
  readonly accepted?: boolean;
}

const OTHER: Record<SignatureEncoding, SignatureEncoding> = { hex: 'base64', base64: 'hex' };

function routeOf(provider: ProviderDefinition, path: string | undefined): RouteDefinition | undefined {
  if (!path) return provider.routes.length === 1 ? provider.routes[0] : undefined;
  const clean = path.split('?')[0]!.replace(/\/+$/, '');
  return provider.routes.find((r) => clean === r.path || clean.endsWith(r.path));
}

/** The key's value in a stored secret (also when it is misconfigured, to try the fixes), or the input as the secret itself. */
function storedValueFor(secret: string, key: string): string {
  const read = readSecretKey(secret, key);
  if (read.kind === 'secret') return read.value;
  try {
    const value: unknown = (JSON.parse(secret.trim()) as Record<string, unknown> | null)?.[key];
    if (typeof value === 'string') return value;
  } catch {
    // Not JSON: the input is the secret itself.
  }
  return secret;
}

/**
 * What the function itself would say of this value if it were stored in Secrets Manager: the same
 * check (shared/secrets/cache.ts, readSecretKey) and the same words. `refused` when the function
 * would answer 503 `Signing secret misconfigured`; a plain string for a provider with several keys is
 * only a note, since --secret may be just the route's signing secret.
 */
function storedSecretFindings(provider: ProviderDefinition, secret: string, route: RouteDefinition | undefined): { findings: Finding[]; refused: boolean } {
  const key = route?.secretKey ?? provider.secretKeys[0]!;
  const read = readSecretKey(secret, key, provider.secretKeys);
  if (read.kind !== 'misconfigured') return { findings: [], refused: false };
  const why = SECRET_PROBLEMS[read.problem];
  // Said by the secret_whitespace finding, which also tries the trimmed secret.
  if (read.problem === 'surrounding_whitespace') return { findings: [], refused: true };
  if (read.problem === 'plain_string_for_several_keys') {
    const keys = provider.secretKeys.map((k) => `"${k}"`).join(', ');
    return {
      refused: false,
      findings: [{ code: 'secret_misconfigured', message: `Stored like this in Secrets Manager, the function would answer 503 "Signing secret misconfigured": ${why} (${keys}).` }],
    };
  }
  return {
    refused: true,
    findings: [{ code: 'secret_misconfigured', message: `Stored like this in Secrets Manager, the function answers 503 "Signing secret misconfigured" and logs key "${key}", problem ${read.problem}: ${why}. Fix the value in the Secrets Manager console.` }],
  };
}

/** The candidate secrets: the route's key as given first, then the fixes people need. */
function secretVariants(provider: ProviderDefinition, input: DiagnoseInput, route: RouteDefinition | undefined): Variant<string>[] {
  const keys = route ? [route.secretKey, ...provider.secretKeys.filter((k) => k !== route.secretKey)] : [...provider.secretKeys];
  const variants: Variant<string>[] = [];
  const add = (variant: Variant<string>) => {
    if (variant.value.length > 0 && !variants.some((v) => v.value === variant.value)) variants.push(variant);
  };
  keys.forEach((key, index) => {
    const value = storedValueFor(input.secret, key);
    const wrongRoute =
      route && index > 0
        ? { code: 'wrong_route_secret' as const, message: `It was signed with the "${key}" secret, but ${route.path} verifies with the "${route.secretKey}" secret: the webhook URLs (or secrets) are swapped in ${provider.title}'s settings.` }
        : {};
    add({ value, ...wrongRoute });
    const trimmed = value.trim();
    if (trimmed !== value) add({ value: trimmed, code: 'secret_whitespace', message: 'The secret has leading or trailing whitespace (often a newline from `echo` or a copied line): the platform signs with the trimmed secret. Stored like this in Secrets Manager, the function answers 503 "Signing secret misconfigured" (problem surrounding_whitespace): store it without the whitespace.' });
    const unquoted = trimmed.replace(/^(['"])(.*)\1$/s, '$2');
    if (unquoted !== trimmed) add({ value: unquoted, code: 'secret_quoted', message: 'The secret includes surrounding quotes: the platform signs with the value inside them. Store it without the quotes.' });
  });
  return variants;
}

function asText(bytes: Buffer): string {
  return bytes.toString('utf8');
}

function parseJson(text: string): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch {
    return { ok: false };
  }
}

/** The body as captured, then what it may have been when the platform signed it. */
function bodyVariants(provider: ProviderDefinition, body: Buffer): Variant<Buffer>[] {
  const text = asText(body);
  const variants: Variant<Buffer>[] = [{ value: body }];
  const add = (value: string, code: FindingCode, message: string, accepted = false) => {
    const bytes = Buffer.from(value, 'utf8');
    if (!variants.some((v) => v.value.equals(bytes))) variants.push({ value: bytes, code, message, accepted });
  };
  const json = parseJson(text.replace(/^\uFEFF/, ''));
  // The handler's own fallback first: a match there still verifies.
  if (json.ok && provider.id === 'buddystat') {
    add(JSON.stringify(json.value), 'reserialised_json', "The body verifies as JSON.stringify of the parsed body, which is what BuddyStat's documented verifier hashes; the handler accepts this form too.", true);
  }
  if (/\r?\n$/.test(text)) {
    add(text.replace(/(\r?\n)+$/, ''), 'trailing_newline_added', 'The body ends with a newline that was not signed: it was added after the platform signed it (an editor, `echo`, or a heredoc when saving the capture, or a proxy). Verify the bytes exactly as received.');
  } else {
    add(`${text}\n`, 'trailing_newline_removed', 'The platform signed the body with a trailing newline that this copy lacks: something trimmed it. Verify the bytes exactly as received.');
  }
  if (text.includes('\r\n')) add(text.replace(/\r\n/g, '\n'), 'line_endings', 'The body has CRLF line endings where the platform signed LF: it was converted on the way (a text-mode copy, or Windows line endings).');
  else if (text.includes('\n')) add(text.replace(/\n/g, '\r\n'), 'line_endings', 'The platform signed CRLF line endings where this copy has LF: it was converted on the way.');
  if (text.startsWith('\uFEFF')) add(text.slice(1), 'byte_order_mark', 'The body starts with a byte-order mark the platform did not sign (added when the capture was saved).');
  // Whole re-serialisations last: they explain any formatting difference, so the narrower causes go first.
  if (json.ok) {
    add(JSON.stringify(json.value), 'reserialised_json', 'The platform signed the compact JSON, but this body was re-serialised or pretty-printed after it arrived (a body parser, a logger, or saving it formatted). Verify the raw bytes as received.');
    for (const indent of [2, 4, '\t'] as const) {
      add(JSON.stringify(json.value, null, indent), 'pretty_printed', 'The platform signed a pretty-printed body, but this copy was compacted (re-serialised by a body parser). Verify the raw bytes as received.');
    }
  }
  return variants;
}

/** The captured query without `?` or the URL around it. */
function normaliseQuery(query: string): string {
  const trimmed = query.trim();
  if (/^https?:\/\//i.test(trimmed)) return new URL(trimmed).search.replace(/^\?/, '');
  return trimmed.replace(/^[^?]*\?/, '').replace(/^\?/, '');
}

function decodeComponent(text: string): string {
  try {
    return decodeURIComponent(text.replace(/\+/g, ' '));
  } catch {
    return text;
  }
}

/** The query as captured, then what it may have been when the platform signed it. */
function queryVariants(query: string): Variant<Buffer>[] {
  const variants: Variant<Buffer>[] = [{ value: Buffer.from(query, 'utf8') }];
  const add = (value: string, code: FindingCode, message: string, accepted = false) => {
    const bytes = Buffer.from(value, 'utf8');
    if (!variants.some((v) => v.value.equals(bytes))) variants.push({ value: bytes, code, message, accepted });
  };
  const reencodedMessage =
    'The query was re-encoded between the platform and your verifier (`%40` vs `@`, `+` vs `%20`): the platform signs `new URLSearchParams({ email, timestamp }).toString()`. Verify the query string exactly as received, or that serialisation of its parameters.';
  add(new URLSearchParams(query).toString(), 'query_reencoded', reencodedMessage, true);
  add(query.replace(/\+/g, '%20'), 'query_reencoded', reencodedMessage);
  add(query.replace(/%20/gi, '+'), 'query_reencoded', reencodedMessage);
  add(
    query.split('&').map((pair) => pair.split('=').map(decodeComponent).join('=')).join('&'),
    'query_reencoded',
    'The platform signed the query with its values decoded (e.g. `@` where you have `%40`). Verify the query string exactly as received.',
  );
  const params = [...new URLSearchParams(query)];
  const ordered = (entries: [string, string][]) => new URLSearchParams(entries).toString();
  const orderMessage = 'The query parameters were reordered on the way: the platform signs them in its own order (`email`, then `timestamp`). Verify the query string exactly as received, not a rebuilt one.';
  add(ordered([...params].reverse()), 'query_order', orderMessage);
  add(ordered([...params].sort(([a], [b]) => a.localeCompare(b))), 'query_order', orderMessage);
  add(ordered([...params.filter(([k]) => k === 'email'), ...params.filter(([k]) => k !== 'email')]), 'query_order', orderMessage);
  add(`?${query}`, 'query_question_mark', 'The platform signed the query with its leading `?`.');
  return variants;
}

interface ParsedSignature {
  readonly values: readonly string[];
  readonly findings: readonly Finding[];
}

/** The signature values as the handler reads them, with prefixes that do not belong there noted. */
function parseSignature(provider: ProviderDefinition, rule: HmacSignatureRule, raw: string): ParsedSignature {
  const findings: Finding[] = [];
  let text = raw.trim();
  const scheme = rule.prefix?.trim();
  if (scheme && text.toLowerCase().startsWith(`${scheme.toLowerCase()} `)) {
    text = text.slice(scheme.length + 1).trim();
  } else if (!scheme && /^bearer\s+/i.test(text)) {
    text = text.replace(/^bearer\s+/i, '');
    findings.push({ code: 'unexpected_prefix', message: `The signature starts with "Bearer ", which ${provider.title} does not send in ${rule.header}: the value is the bare ${rule.encoding} HMAC.` });
  }
  if (/^sha256=/i.test(text)) {
    text = text.replace(/^sha256=/i, '');
    findings.push({ code: 'unexpected_prefix', message: `The signature starts with "sha256=", which ${provider.title} does not send: the value is the bare ${rule.encoding} HMAC.` });
  }
  // Function URLs and HTTP APIs comma-join a repeated header; the handler splits it again.
  const values = text.split(',').map((v) => v.trim()).filter((v) => v.length > 0);
  return { values, findings };
}

interface Match {
  readonly secret: Variant<string>;
  readonly message: Variant<Buffer>;
  readonly encoding: SignatureEncoding;
}

function findMatch(
  secrets: readonly Variant<string>[],
  messages: readonly Variant<Buffer>[],
  decoded: readonly { bytes: Buffer; encoding: SignatureEncoding }[],
  keyOf: (secret: string) => SigningKey = (secret) => secret,
): Match | undefined {
  for (const secret of secrets) {
    for (const message of messages) {
      const digest = hmacSha256(keyOf(secret.value), message.value);
      const hit = decoded.find((d) => d.bytes.equals(digest));
      if (hit) return { secret, message, encoding: hit.encoding };
    }
  }
  return undefined;
}

function timestampFindings(provider: ProviderDefinition, body: Buffer | undefined, query: string | undefined, nowMs: number): Finding[] {
  const rule = provider.replay;
  if (!rule) return [];
  let value: unknown;
  if (rule.in === 'query') value = new URLSearchParams(query ?? '').get(rule.field) ?? undefined;
  else {
    const json = body ? parseJson(asText(body)) : { ok: false as const };
    value = json.ok && typeof json.value === 'object' && json.value !== null ? (json.value as Record<string, unknown>)[rule.field] : undefined;
  }
  const check = checkTimestamp(value, nowMs, rule.windowSeconds);
  if (check.ok) return [];
  const where = `the ${rule.in}'s \`${rule.field}\``;
  if (check.reason === 'missing_timestamp') return [{ code: 'missing_timestamp', message: `There is no timestamp in ${where}: the handler rejects the request (401).` }];
  if (check.reason === 'malformed_timestamp') return [{ code: 'malformed_timestamp', message: `${where} is not a number of seconds since the epoch: the handler rejects the request (401).` }];
  const numeric = Number(value);
  const secondsValue = numeric > 1e11 ? numeric / 1000 : numeric;
  const skew = Math.round(secondsValue - nowMs / 1000);
  const when = Number.isFinite(secondsValue) ? ` (${new Date(secondsValue * 1000).toISOString()})` : '';
  return [
    {
      code: 'stale_timestamp',
      message: `Stale timestamp: ${where} is ${Math.abs(skew)} s ${skew < 0 ? 'in the past' : 'in the future'}${when}; the handler accepts ±${rule.windowSeconds} s, so it answers 401. A captured request cannot be replayed later: send a fresh one (npm run send), or check the clocks.`,
    },
  ];
}

/**
 * A Standard Webhooks delivery: the id and timestamp headers are signed with the body, so each is
 * needed, and the body's usual changes are tried inside that signed content.
 */
function diagnoseStandardWebhook(provider: ProviderDefinition, rule: StandardWebhooksRule, input: DiagnoseInput): Diagnosis {
  const body = input.body === undefined ? undefined : Buffer.from(typeof input.body === 'string' ? Buffer.from(input.body, 'utf8') : input.body);
  if (body === undefined) return { verified: false, findings: [{ code: 'no_input', message: `${provider.title} signs the body; give it as captured (--body or --body-file).` }] };
  const { messageId: id, timestamp } = input;
  if (!id || !timestamp) {
    return {
      verified: false,
      findings: [{ code: 'missing_webhook_headers', message: 'Standard Webhooks signs `webhook-id` and `webhook-timestamp` with the body: give both as captured (--id, --timestamp).' }],
    };
  }
  const route = routeOf(provider, input.route);
  const secrets = secretVariants(provider, input, route);
  const expected = signStandardWebhook(secrets[0]?.value ?? '', id, timestamp, body);
  const check = checkTimestamp(timestamp, input.nowMs, rule.toleranceSeconds);
  const timestampFindings: Finding[] = check.ok
    ? []
    : [{ code: check.reason, message: `webhook-timestamp ${timestamp} is ${check.reason === 'stale_timestamp' ? `more than ${rule.toleranceSeconds} s from now` : 'not a number of seconds'}: the handler rejects the request.` }];
  const decoded = v1Signatures([input.signature]).flatMap((value) => {
    const bytes = decodeSignature(value, 'base64');
    return bytes ? [{ bytes, encoding: 'base64' as const }] : [];
  });
  if (decoded.length === 0) {
    return {
      verified: false,
      expected,
      findings: [{ code: 'malformed_signature', message: 'No `v1,<base64>` entry in the signature: Standard Webhooks senders send space-separated `v1,…` entries in webhook-signature.' }, ...timestampFindings],
    };
  }
  const messages = bodyVariants(provider, body).map((variant) => ({ ...variant, value: standardWebhooksContent(id, timestamp, variant.value) }));
  const match = findMatch(secrets, messages, decoded, standardWebhooksKey);
  if (!match) {
    return {
      verified: false,
      expected,
      findings: [{ code: 'wrong_secret', message: `Nothing verifies: most likely the wrong secret (the sender's whsec_… value), a changed webhook-id or webhook-timestamp, or a body that is not the one signed.` }, ...timestampFindings],
    };
  }
  const findings: Finding[] = [];
  if (match.secret.code) findings.push({ code: match.secret.code, message: match.secret.message! });
  if (match.message.code) findings.push({ code: match.message.code, message: match.message.message! });
  const signatureAccepted = !match.secret.code && !match.message.code;
  const head: Finding[] = signatureAccepted ? [{ code: 'verified', message: 'The signature verifies.' }] : [];
  return { verified: signatureAccepted && timestampFindings.length === 0, expected, findings: [...head, ...findings, ...timestampFindings] };
}

export function diagnose(input: DiagnoseInput): Diagnosis {
  const provider: ProviderDefinition = PROVIDERS[input.provider];
  const stored = storedSecretFindings(provider, input.secret, routeOf(provider, input.route));
  const signature = diagnoseSignature(input);
  return { ...signature, verified: signature.verified && !stored.refused, findings: [...stored.findings, ...signature.findings] };
}

function diagnoseSignature(input: DiagnoseInput): Diagnosis {
  const provider: ProviderDefinition = PROVIDERS[input.provider];
  const rule = provider.signature;
  if (rule.scheme === 'standard-webhooks') return diagnoseStandardWebhook(provider, rule, input);
  const encoding = rule.encoding;
  const route = routeOf(provider, input.route);
  const body = input.body === undefined ? undefined : Buffer.from(typeof input.body === 'string' ? Buffer.from(input.body, 'utf8') : input.body);
  const query = input.query === undefined ? undefined : normaliseQuery(input.query);

  const signed = rule.signs === 'query' ? (query === undefined ? undefined : Buffer.from(query, 'utf8')) : body;
  if (signed === undefined) {
    const what = rule.signs === 'query' ? 'the query string (--query)' : 'the body (--body or --body-file)';
    return { verified: false, findings: [{ code: 'no_input', message: `${provider.title} signs ${what}; give it as captured.` }] };
  }

  const secrets = secretVariants(provider, input, route);
  const primarySecret = secrets[0]?.value ?? '';
  const expected = `${rule.prefix ?? ''}${sign(primarySecret, signed, encoding)}`;
  const timestamp = timestampFindings(provider, body, query, input.nowMs);

  const signature = parseSignature(provider, rule, input.signature);
  if (signature.values.length === 0) {
    return { verified: false, expected, findings: [{ code: 'missing_signature', message: `No signature given: ${provider.title} sends it in ${rule.header}.` }, ...timestamp] };
  }
  const decoded = signature.values.flatMap((value) =>
    ([encoding, OTHER[encoding]] as const).flatMap((enc) => {
      const bytes = decodeSignature(value, enc);
      return bytes ? [{ bytes, encoding: enc }] : [];
    }),
  );
  if (decoded.length === 0) {
    const lengths = signature.values.map((v) => v.length).join(', ');
    return {
      verified: false,
      expected,
      findings: [
        ...signature.findings,
        { code: 'malformed_signature', message: `The signature is not an HMAC-SHA256 value (${lengths} characters): ${provider.title} sends ${encoding === 'hex' ? '64 hex characters' : '44 base64 characters'}. Was it truncated or copied with extra text?` },
        ...timestamp,
      ],
    };
  }

  const messages = rule.signs === 'query' ? queryVariants(query!) : bodyVariants(provider, body!);
  const match = findMatch(secrets, messages, decoded);
  if (!match) {
    return {
      verified: false,
      expected,
      findings: [
        ...signature.findings,
        {
          code: 'wrong_secret',
          message: `Nothing verifies: most likely the wrong secret (not the one ${provider.title} signs with: copied from another webhook or environment, or rotated since), or the ${rule.signs} is not the one that was signed. Tried the ${rule.signs} as given, re-serialised, with and without a trailing newline${rule.signs === 'query' ? ', re-encoded and reordered' : ''}, and the secret trimmed.`,
        },
        ...timestamp,
      ],
    };
  }

  const findings: Finding[] = [...signature.findings];
  if (match.secret.code) findings.push({ code: match.secret.code, message: match.secret.message! });
  if (match.message.code) findings.push({ code: match.message.code, message: match.message.message! });
  if (match.encoding !== encoding) {
    findings.push({
      code: 'encoding_mismatch',
      message: `The signature is ${match.encoding}-encoded, but ${provider.title} sends ${encoding} in ${rule.header}: something re-encoded it, or it was computed with digest('${match.encoding}') instead of digest('${encoding}').`,
    });
  }
  const signatureAccepted =
    signature.findings.length === 0 && !match.secret.code && (!match.message.code || match.message.accepted === true) && match.encoding === encoding;
  const verified = signatureAccepted && timestamp.length === 0;
  const head: Finding[] = signatureAccepted
    ? [{ code: match.message.code ? 'verified_variant' : 'verified', message: `The signature verifies${match.message.code ? ' (see below)' : ''}${route ? ` for ${route.path}` : ''}.` }]
    : [];
  return { verified, expected, findings: [...head, ...findings, ...timestamp] };
}
