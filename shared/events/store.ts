import { hash } from 'node:crypto';
import type { S3Client } from '@aws-sdk/client-s3';
import { sdkClientConfig } from '../aws/client-config.js';
import type { SignedMessage } from '../signing/verify.js';
import type { ClaimPointer } from './entry.js';
import { bodyTextOf } from './entry.js';
import type { DeliveryMetadata, PublishOptions, WebhookEvent } from './event.js';

/**
 * The delivery bucket (one per stack): bodies too large for an EventBridge entry under `claims/`,
 * deliveries that could not be forwarded now under `parked/`, each under its provider's prefix:
 *
 *   claims/<provider>/<sha256>        the verified body, byte for byte (a claim-check event points here)
 *   parked/<provider>/<sha256>.json   a ParkedDelivery: the body, its metadata and why it was parked
 *
 * `<sha256>` is the de-duplication hash, so a delivery parked twice is one object, not two.
 */
export const DELIVERY_PREFIXES = { claims: 'claims/', parked: 'parked/' } as const;

/** Why a delivery was parked: the forward's outcome, the bus's error code when it gave one, and a short message. */
export interface ParkReason {
  readonly outcome: string;
  readonly code?: string;
  readonly message: string;
}

/** A parked delivery as stored: enough to forward it later exactly as it would have been. */
export interface ParkedDelivery {
  readonly version: 1;
  readonly provider: string;
  readonly delivery: DeliveryMetadata;
  /** The verified bytes: as text when they are valid UTF-8, base64 otherwise. */
  readonly body: { readonly encoding: 'utf8' | 'base64'; readonly data: string };
  readonly parkedAt: string;
  readonly reason: ParkReason;
}

export interface ParkedObject {
  readonly key: string;
  readonly provider: string;
  readonly lastModified: Date;
}

export interface ParkedFilter {
  readonly provider?: string;
  /** Only objects written at or after this time. */
  readonly since?: Date;
}

export interface DeliveryStore {
  /** Stores a body too large for the bus and says where it is. */
  putClaim(event: WebhookEvent, options?: PublishOptions): Promise<ClaimPointer>;
  /** Stores a delivery that could not be forwarded now; resolves with its key once it is durable. */
  park(parked: ParkedDelivery, options?: PublishOptions): Promise<string>;
  listParked(filter?: ParkedFilter, options?: PublishOptions): Promise<ParkedObject[]>;
  readParked(key: string, options?: PublishOptions): Promise<ParkedDelivery | undefined>;
  deleteParked(key: string, options?: PublishOptions): Promise<void>;
}

/** The hash part of `<provider>#sha256#<hex>`: the object name for a delivery. */
export function objectName(dedupeKey: string): string {
  return dedupeKey.slice(dedupeKey.lastIndexOf('#') + 1);
}

export function claimKey(provider: string, dedupeKey: string): string {
  return `${DELIVERY_PREFIXES.claims}${provider}/${objectName(dedupeKey)}`;
}

export function parkedKey(provider: string, dedupeKey: string): string {
  return `${DELIVERY_PREFIXES.parked}${provider}/${objectName(dedupeKey)}.json`;
}

function bytesOf(body: SignedMessage): Buffer {
  return typeof body === 'string' ? Buffer.from(body, 'utf8') : Buffer.from(body.buffer, body.byteOffset, body.byteLength);
}

/** A parked record for an event: the body as text when it is valid UTF-8 (readable in the console), else base64. */
export function parkedDelivery(event: WebhookEvent, reason: ParkReason, parkedAtMs: number): ParkedDelivery {
  const text = bodyTextOf(event.body);
  return {
    version: 1,
    provider: event.provider,
    delivery: event.delivery,
    body: text === undefined ? { encoding: 'base64', data: bytesOf(event.body).toString('base64') } : { encoding: 'utf8', data: text },
    parkedAt: new Date(parkedAtMs).toISOString(),
    reason,
  };
}

/** The event a parked record stands for, as it was first forwarded. */
export function eventFromParked(parked: ParkedDelivery): WebhookEvent {
  const body = parked.body.encoding === 'utf8' ? parked.body.data : Buffer.from(parked.body.data, 'base64');
  return { provider: parked.provider, body, delivery: parked.delivery };
}

/** A stored object read back as a ParkedDelivery, or undefined when it is not one. */
export function parseParked(text: string): ParkedDelivery | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const record = value as Partial<ParkedDelivery>;
  const ok =
    record.version === 1 &&
    typeof record.provider === 'string' &&
    typeof record.delivery?.dedupeKey === 'string' &&
    typeof record.delivery.eventType === 'string' &&
    (record.body?.encoding === 'utf8' || record.body?.encoding === 'base64') &&
    typeof record.body.data === 'string';
  return ok ? (record as ParkedDelivery) : undefined;
}

export interface S3DeliveryStoreOptions {
  readonly bucket: string;
  /** Default: an S3Client with one retry and short timeouts; its endpoint from AWS_ENDPOINT_URL_S3 when set. */
  readonly client?: S3Client;
}

type S3Module = typeof import('./s3-commands.js');

/** The delivery bucket through the S3 API (s3rver in `npm start` and the tests, S3 when deployed). */
export class S3DeliveryStore implements DeliveryStore {
  readonly bucket: string;
  private readonly given?: S3Client;
  private connection?: Promise<{ readonly s3: S3Module; readonly client: S3Client }>;

  constructor(options: S3DeliveryStoreOptions) {
    this.bucket = options.bucket;
    this.given = options.client;
  }

  /** The S3 module and client, on the first call that needs them. */
  private s3(): Promise<{ readonly s3: S3Module; readonly client: S3Client }> {
    // Loaded here, not at import: a small delivery never touches the bucket, so a cold start need not load the S3 client.
    return (this.connection ??= import('./s3-commands.js').then((s3) => ({ s3, client: this.given ?? new s3.S3Client(sdkClientConfig(3_000)) })));
  }

  async putClaim(event: WebhookEvent, options: PublishOptions = {}): Promise<ClaimPointer> {
    const { s3, client } = await this.s3();
    const bytes = bytesOf(event.body);
    const key = claimKey(event.provider, event.delivery.dedupeKey);
    await client.send(new s3.PutObjectCommand({ Bucket: this.bucket, Key: key, Body: bytes, ContentType: 'application/json' }), { abortSignal: options.signal });
    return { bucket: this.bucket, key, size: bytes.length, sha256: hash('sha256', bytes, 'hex') };
  }

  async park(parked: ParkedDelivery, options: PublishOptions = {}): Promise<string> {
    const { s3, client } = await this.s3();
    const key = parkedKey(parked.provider, parked.delivery.dedupeKey);
    await client.send(new s3.PutObjectCommand({ Bucket: this.bucket, Key: key, Body: JSON.stringify(parked), ContentType: 'application/json' }), { abortSignal: options.signal });
    return key;
  }

  async listParked(filter: ParkedFilter = {}, options: PublishOptions = {}): Promise<ParkedObject[]> {
    const { s3, client } = await this.s3();
    const prefix = `${DELIVERY_PREFIXES.parked}${filter.provider ? `${filter.provider}/` : ''}`;
    const found: ParkedObject[] = [];
    let token: string | undefined;
    do {
      const page = await client.send(
        new s3.ListObjectsV2Command({ Bucket: this.bucket, Prefix: prefix, ...(token ? { ContinuationToken: token } : {}) }),
        { abortSignal: options.signal },
      );
      for (const object of page.Contents ?? []) {
        if (!object.Key || !object.LastModified) continue;
        if (filter.since && object.LastModified < filter.since) continue;
        const provider = object.Key.slice(DELIVERY_PREFIXES.parked.length).split('/')[0] ?? '';
        found.push({ key: object.Key, provider, lastModified: object.LastModified });
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return found;
  }

  async readParked(key: string, options: PublishOptions = {}): Promise<ParkedDelivery | undefined> {
    const { s3, client } = await this.s3();
    const object = await client.send(new s3.GetObjectCommand({ Bucket: this.bucket, Key: key }), { abortSignal: options.signal });
    const text = await object.Body?.transformToString('utf-8');
    return text === undefined ? undefined : parseParked(text);
  }

  async deleteParked(key: string, options: PublishOptions = {}): Promise<void> {
    const { s3, client } = await this.s3();
    await client.send(new s3.DeleteObjectCommand({ Bucket: this.bucket, Key: key }), { abortSignal: options.signal });
  }
}

/** Every call rejects with `reason`: with no bucket configured, nothing can be claim-checked or parked (the handler answers 503). */
export function unavailableStore(reason: string): DeliveryStore {
  const fail = () => Promise.reject(new Error(reason));
  return { putClaim: fail, park: fail, listParked: fail, readParked: fail, deleteParked: fail };
}
