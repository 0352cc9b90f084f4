import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readRequestBody } from './request-body.js';

/**
 * EventBridge's PutEvents over its real wire protocol (AWS JSON 1.1: `POST /` with
 * `X-Amz-Target: AWSEvents.PutEvents`), for running a deployed bundle against loopback: the real SDK
 * reaches it through AWS_ENDPOINT_URL_EVENTBRIDGE. It accepts every entry and keeps what it accepted.
 */
export interface PutEntry {
  readonly Source?: string;
  readonly DetailType?: string;
  readonly Detail?: string;
  readonly EventBusName?: string;
}

export interface EventBridgeStandIn {
  /** The value for AWS_ENDPOINT_URL_EVENTBRIDGE. */
  readonly endpoint: string;
  /** Every entry accepted so far, as sent. */
  entries(): readonly PutEntry[];
  close(): Promise<void>;
}

/** PutEvents' own request limit is 1 MiB of entries; a little more for the JSON around them. */
const MAX_BODY_BYTES = 2 * 1024 * 1024;

async function readJson(req: IncomingMessage): Promise<unknown> {
  const body = await readRequestBody(req, MAX_BODY_BYTES);
  if (body === undefined) throw new Error('body over the limit or cut off');
  return JSON.parse(body.toString('utf8') || '{}');
}

function answer(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/x-amz-json-1.1' });
  res.end(JSON.stringify(body));
}

export async function startEventBridgeStandIn(host = '127.0.0.1'): Promise<EventBridgeStandIn> {
  const accepted: PutEntry[] = [];
  const server = createServer((req, res) => {
    if (req.method !== 'POST' || req.headers['x-amz-target'] !== 'AWSEvents.PutEvents') {
      return answer(res, 400, { __type: 'UnknownOperationException', message: 'Only PutEvents is served here.' });
    }
    readJson(req).then(
      (input) => {
        const entries = ((input as { Entries?: PutEntry[] }).Entries ?? []);
        accepted.push(...entries);
        answer(res, 200, { FailedEntryCount: 0, Entries: entries.map(() => ({ EventId: randomUUID() })) });
      },
      () => answer(res, 400, { __type: 'SerializationException', message: 'Body is not JSON.' }),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://${host}:${port}`,
    entries: () => [...accepted],
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
