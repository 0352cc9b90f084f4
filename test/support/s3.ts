import { GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { afterAll, beforeAll } from 'vitest';
import { S3DeliveryStore } from '../../shared/events/store.js';
import { startS3StandIn, type S3StandIn } from '../../local/stand-ins/s3.js';

/** A delivery bucket on s3rver, as a test sees it: the store the handlers use, and a way to look inside. */
export interface TestBucket {
  readonly s3: S3StandIn;
  /** A store over the bucket, through the real S3 protocol. */
  store(): S3DeliveryStore;
  /** Every key under `prefix`. */
  keys(prefix?: string): Promise<string[]>;
  /** An object's bytes. */
  bytes(key: string): Promise<Buffer>;
}

let buckets = 0;

/**
 * s3rver for the enclosing `describe` block, started before its tests with one bucket, closed after
 * them. Each call makes its own bucket name, so suites never see each other's objects.
 */
export function useS3(): () => TestBucket {
  let bucket: TestBucket | undefined;
  beforeAll(async () => {
    const s3 = await startS3StandIn(`test-deliveries-${process.pid}-${++buckets}`);
    bucket = {
      s3,
      store: () => new S3DeliveryStore({ bucket: s3.bucket, client: s3.client }),
      keys: async (prefix = '') => {
        const listed = await s3.client.send(new ListObjectsV2Command({ Bucket: s3.bucket, Prefix: prefix }));
        return (listed.Contents ?? []).map((o) => o.Key!).sort();
      },
      bytes: async (key) => {
        const object = await s3.client.send(new GetObjectCommand({ Bucket: s3.bucket, Key: key }));
        return Buffer.from(await object.Body!.transformToByteArray());
      },
    };
  });
  afterAll(async () => {
    await bucket?.s3.close();
  });
  return () => {
    if (!bucket) throw new Error('s3rver is not running: use it inside a test or a hook');
    return bucket;
  };
}
