import { createServer, request, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A wire-level stand-in between the handlers and dynalite: every DynamoDB JSON-protocol request is
 * forwarded as it came, except the delivery ledger's `complete` (shared/events/ledger.ts: a PutItem
 * of a DELIVERED item, with no condition), which can be held until the test releases it or never
 * forwarded at all. Nothing in our code is touched: the handlers reach it through
 * AWS_ENDPOINT_URL_DYNAMODB, as they would reach DynamoDB.
 */
export type CompleteWrites =
  /** Forwarded as they come. */
  | 'pass'
  /** Kept unanswered until release(), then forwarded. */
  | 'hold'
  /** Never forwarded nor answered; the connection stays open until the client gives up or the relay closes. */
  | 'never';

export interface DynamoDbRelay {
  /** e.g. http://127.0.0.1:54321: the value for AWS_ENDPOINT_URL_DYNAMODB. */
  readonly endpoint: string;
  /** How `complete` writes that arrive from now on are treated. Default 'pass'. */
  completeWrites(mode: CompleteWrites): void;
  /** The dedupe keys of the `complete` writes that arrived since the mode was last set, in order (an SDK retry counts again). */
  completes(): readonly string[];
  /** Forwards every held `complete`; resolves when dynalite has answered each. */
  release(): Promise<void>;
  close(): Promise<void>;
}

interface LedgerWrite {
  readonly TableName?: string;
  readonly ConditionExpression?: string;
  readonly Item?: { readonly pk?: { readonly S?: string }; readonly status?: { readonly S?: string } };
}

/** The dedupe key when `body` is the ledger's `complete` as the SDK sends it, else undefined. */
function completeKey(target: string | undefined, body: Buffer): string | undefined {
  if (target !== 'DynamoDB_20120810.PutItem') return undefined;
  let write: LedgerWrite;
  try {
    write = JSON.parse(body.toString('utf8')) as LedgerWrite;
  } catch {
    return undefined;
  }
  // `claim` writes IN_PROGRESS under a condition; only `complete` writes DELIVERED, unconditionally.
  if (write.ConditionExpression !== undefined || write.Item?.status?.S !== 'DELIVERED') return undefined;
  return write.Item.pk?.S;
}

function readAll(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/** Starts the relay on 127.0.0.1, port 0, forwarding to `upstream` (dynalite's endpoint). */
export async function startDynamoDbRelay(upstream: string): Promise<DynamoDbRelay> {
  const target = new URL(upstream);
  let mode: CompleteWrites = 'pass';
  const seen: string[] = [];
  const held: (() => Promise<void>)[] = [];

  /** Sends the request on to dynalite and its answer back, if the client still waits for it. */
  const forward = (req: IncomingMessage, body: Buffer, res: ServerResponse): Promise<void> =>
    new Promise((resolve) => {
      const out = request(
        { hostname: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers },
        (answer) => {
          const chunks: Buffer[] = [];
          answer.on('data', (chunk: Buffer) => chunks.push(chunk));
          answer.on('end', () => {
            if (!res.destroyed) {
              res.writeHead(answer.statusCode ?? 502, answer.headers);
              res.end(Buffer.concat(chunks));
            }
            resolve();
          });
        },
      );
      out.on('error', () => {
        res.destroy();
        resolve();
      });
      out.end(body);
    });

  const server = createServer((req, res) => {
    readAll(req).then(
      (body) => {
        const key = completeKey(req.headers['x-amz-target'] as string | undefined, body);
        if (key === undefined || mode === 'pass') {
          if (key !== undefined) seen.push(key);
          return forward(req, body, res);
        }
        seen.push(key);
        // The body was read whole, so a held write still lands after its client gave up, as one DynamoDB received would.
        if (mode === 'hold') held.push(() => forward(req, body, res));
        return undefined;
      },
      () => res.destroy(),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    completeWrites: (next) => {
      mode = next;
      seen.length = 0;
    },
    completes: () => [...seen],
    release: async () => {
      await Promise.all(held.splice(0).map((send) => send()));
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
