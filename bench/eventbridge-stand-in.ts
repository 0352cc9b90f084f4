import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A local EventBridge that accepts PutEvents over the service's wire protocol (awsJson1_1:
 * `X-Amz-Target: AWSEvents.PutEvents`, JSON body), so a bundled webhook function's real
 * EventBridgeClient makes its real round trip in the cold-start bench. Every entry is accepted and
 * counted; any other operation answers 400 UnknownOperationException.
 */
export interface EventBridgeStandIn {
  /** The value for AWS_ENDPOINT_URL_EVENTBRIDGE. */
  readonly endpoint: string;
  /** Entries accepted so far. */
  entries(): number;
  close(): Promise<void>;
}

export async function startEventBridgeStandIn(): Promise<EventBridgeStandIn> {
  let accepted = 0;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const answer = (status: number, body: unknown) => {
        res.writeHead(status, { 'content-type': 'application/x-amz-json-1.1' });
        res.end(JSON.stringify(body));
      };
      if (req.headers['x-amz-target'] !== 'AWSEvents.PutEvents') {
        answer(400, { __type: 'UnknownOperationException', message: `unsupported: ${String(req.headers['x-amz-target'])}` });
        return;
      }
      const input = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { Entries?: unknown[] };
      const count = input.Entries?.length ?? 0;
      accepted += count;
      answer(200, { FailedEntryCount: 0, Entries: Array.from({ length: count }, () => ({ EventId: randomUUID() })) });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    entries: () => accepted,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
