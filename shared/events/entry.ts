import { isUtf8 } from 'node:buffer';
import type { SignedMessage } from '../signing/verify.js';
import { EventRejectedError, eventSourceOf, type DeliveryMetadata, type EventEntry, type WebhookEvent } from './event.js';

/**
 * The entries a delivery becomes on the bus, and EventBridge's documented limits on them
 * (PutEvents API reference; "Calculating Amazon EventBridge PutEvents event entry size").
 */

/** "The total entry size must be less than 256KB." */
export const MAX_ENTRY_BYTES = 256 * 1024;
/** PutEventsRequestEntry.DetailType: length 1 to 128. */
export const MAX_DETAIL_TYPE_LENGTH = 128;
/** "PutEvents will only process nested JSON up to 1000 levels deep" (older revisions of the page say 1100). */
export const MAX_NESTING_DEPTH = 1000;
/** "For the JSON number (integer) data type … a maximum value of 9,223,372,036,854,775,807." */
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
/** Time counts 14 bytes whatever its value. */
const TIME_BYTES = 14;

/** Where a claim-checked body waits in the delivery bucket. */
export interface ClaimPointer {
  readonly bucket: string;
  readonly key: string;
  /** Bytes stored: the verified body, exactly. */
  readonly size: number;
  /** SHA-256 of those bytes, hex. */
  readonly sha256: string;
}

/** Control characters, which a DetailType has no use for and a rule cannot match on sensibly. */
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/g;
const HAS_CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

/**
 * The platform's type as EventBridge takes it as DetailType: control characters dropped, cut to 128
 * characters (never inside a surrogate pair), `unknown` when nothing is left. The full type stays in
 * the detail (`delivery.eventType`).
 */
export function detailTypeFor(eventType: string): string {
  let type = HAS_CONTROL.test(eventType) ? eventType.replace(CONTROL, '') : eventType;
  if (type.length > MAX_DETAIL_TYPE_LENGTH) {
    const end = isHighSurrogate(type.charCodeAt(MAX_DETAIL_TYPE_LENGTH - 1)) ? MAX_DETAIL_TYPE_LENGTH - 1 : MAX_DETAIL_TYPE_LENGTH;
    type = type.slice(0, end);
  }
  type = type.trim();
  return type.length > 0 ? type : 'unknown';
}

function isHighSurrogate(code: number): boolean {
  return code >= 0xd800 && code <= 0xdbff;
}

/**
 * The verified body as text whose UTF-8 encoding is exactly its bytes, or undefined when the bytes
 * are not valid UTF-8 (such a body can only travel as a claim check, which keeps the bytes).
 * A string body is one already: the request layer keeps a text only when it is the bytes sent.
 */
export function bodyTextOf(body: SignedMessage): string | undefined {
  if (typeof body === 'string') return body;
  if (!isUtf8(body)) return undefined;
  return (Buffer.isBuffer(body) ? body : Buffer.from(body.buffer, body.byteOffset, body.byteLength)).toString('utf8');
}

function deliveryJson(delivery: DeliveryMetadata & { readonly eventTypeCut?: true }): string {
  return `{"delivery":${JSON.stringify(delivery)}`;
}

/** An entry for an event: source `webhooks.<provider>`, the sanitised type, the time received, and `detail`. */
function entryOf(event: WebhookEvent, detail: string): EventEntry {
  return { source: eventSourceOf(event.provider), detailType: detailTypeFor(event.delivery.eventType), time: event.delivery.receivedAt, detail };
}

/**
 * The usual entry: Detail is `{"delivery":{…},"payload":<the verified JSON text as it arrived>}`.
 * The text is embedded, not parsed and re-serialised, so consumers get the platform's numbers, key
 * order and escapes (it is valid JSON: the handler parsed it before forwarding).
 */
export function inlineEntry(event: WebhookEvent, bodyText: string): EventEntry {
  return entryOf(event, `${deliveryJson(event.delivery)},"payload":${bodyText}}`);
}

/** What is kept of an event type too long for even a claim-check entry (the full type is in the stored body). */
const CUT_EVENT_TYPE_LENGTH = 1_024;

/**
 * The claim-check entry: Detail is `{"delivery":{…},"claim":{bucket,key,size,sha256}}`; the body is
 * in S3. Only an event type of hundreds of KB could make it too large: then the type in the detail
 * is cut (`eventTypeCut: true`), so the entry always fits and the delivery still reaches the bus.
 */
export function claimEntry(event: WebhookEvent, claim: ClaimPointer): EventEntry {
  const entry = entryOf(event, `${deliveryJson(event.delivery)},"claim":${JSON.stringify(claim)}}`);
  if (fitsOnTheBus(entry)) return entry;
  const delivery = { ...event.delivery, eventType: event.delivery.eventType.slice(0, CUT_EVENT_TYPE_LENGTH), eventTypeCut: true as const };
  return { ...entry, detail: `${deliveryJson(delivery)},"claim":${JSON.stringify(claim)}}` };
}

/** Size as the PutEvents size page counts it: UTF-8 bytes of Source, DetailType and Detail, 14 for Time. */
export function entrySizeBytes(entry: EventEntry): number {
  return Buffer.byteLength(entry.source, 'utf8') + Buffer.byteLength(entry.detailType, 'utf8') + Buffer.byteLength(entry.detail, 'utf8') + TIME_BYTES;
}

/** Whether EventBridge takes the entry by size. A string is at most three UTF-8 bytes per UTF-16 unit, so a short one needs no count. */
export function fitsOnTheBus(entry: EventEntry): boolean {
  const upperBound = 3 * (entry.source.length + entry.detailType.length + entry.detail.length) + TIME_BYTES;
  return upperBound < MAX_ENTRY_BYTES || entrySizeBytes(entry) < MAX_ENTRY_BYTES;
}

/**
 * What EventBridge would refuse in this entry by its documented limits: size, DetailType length,
 * nesting depth, integers outside int64. The local file sink applies it so `npm start` refuses what
 * AWS refuses; the deployed path leaves the verdict to PutEvents itself.
 */
export function documentedRejection(entry: EventEntry): EventRejectedError | undefined {
  if (!fitsOnTheBus(entry)) return new EventRejectedError(`entry is ${entrySizeBytes(entry)} bytes; EventBridge takes less than ${MAX_ENTRY_BYTES}`, 'InvalidArgument');
  if (entry.detailType.length < 1 || entry.detailType.length > MAX_DETAIL_TYPE_LENGTH) {
    return new EventRejectedError(`DetailType must be 1 to ${MAX_DETAIL_TYPE_LENGTH} characters`, 'InvalidArgument');
  }
  const problem = jsonLimitProblem(entry.detail);
  return problem === undefined ? undefined : new EventRejectedError(problem, 'InvalidArgument');
}

/** Nesting deeper than PutEvents processes, or an integer outside int64, in a JSON text (one pass, no parse). */
export function jsonLimitProblem(text: string): string | undefined {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++;
      else if (c === 0x22) inString = false;
      continue;
    }
    if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) {
      if (++depth > MAX_NESTING_DEPTH) return `JSON nested deeper than ${MAX_NESTING_DEPTH} levels`;
    } else if (c === 0x7d || c === 0x5d) depth--;
    else if (c === 0x2d || (c >= 0x30 && c <= 0x39)) {
      let end = i + 1;
      while (end < text.length && /[0-9.eE+-]/.test(text[end]!)) end++;
      const literal = text.slice(i, end);
      if (/^-?\d+$/.test(literal)) {
        const value = BigInt(literal);
        if (value < INT64_MIN || value > INT64_MAX) return `integer ${literal.slice(0, 32)} is outside the int64 range`;
      }
      i = end - 1;
    }
  }
  return undefined;
}
