import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { S3Client } from '@aws-sdk/client-s3';
import { LOCAL_AWS_ENV, localClientConfig } from './dynamodb.js';

/**
 * s3rver: an S3 implementation on the local file system that speaks the real S3 REST protocol.
 * `npm start` and the tests point the real SDK at it through AWS_ENDPOINT_URL_S3, so the claim check,
 * parking and redrive run the code that runs in AWS.
 */
const require = createRequire(import.meta.url);

interface S3rverInstance {
  run(): Promise<{ port: number }>;
  close(): Promise<void>;
  readonly httpServer?: Server;
}

type S3rverConstructor = new (options: {
  port: number;
  address: string;
  silent: boolean;
  directory: string;
  configureBuckets: { name: string }[];
}) => S3rverInstance;

const S3rver = require('s3rver') as S3rverConstructor;
/** s3rver checks SigV4 signatures against its own account registry, which knows only its built-in key. */
const s3rverAccounts = require('s3rver/lib/models/account.js') as { DUMMY_ACCOUNT: { createKeyPair(id: string, secret: string): void } };
s3rverAccounts.DUMMY_ACCOUNT.createKeyPair(LOCAL_AWS_ENV.AWS_ACCESS_KEY_ID, LOCAL_AWS_ENV.AWS_SECRET_ACCESS_KEY);

export interface S3StandIn {
  /** e.g. http://127.0.0.1:54321: the value for AWS_ENDPOINT_URL_S3. */
  readonly endpoint: string;
  readonly bucket: string;
  /** A client pointed at the stand-in, with the local credentials. */
  readonly client: S3Client;
  close(): Promise<void>;
}

/** Starts s3rver on a fresh temporary directory with `bucket` created; `close` stops it and removes the directory. */
export async function startS3StandIn(bucket: string, host = '127.0.0.1'): Promise<S3StandIn> {
  const directory = await mkdtemp(join(tmpdir(), 's3-stand-in-'));
  const server = new S3rver({ port: 0, address: host, silent: true, directory, configureBuckets: [{ name: bucket }] });
  const { port } = await server.run();
  const endpoint = `http://${host}:${port}`;
  const client = new S3Client(localClientConfig(endpoint));
  return {
    endpoint,
    bucket,
    client,
    close: async () => {
      client.destroy();
      // The SDK keeps connections alive; close would wait for them.
      server.httpServer?.closeAllConnections();
      await server.close();
      await rm(directory, { recursive: true, force: true });
    },
  };
}
