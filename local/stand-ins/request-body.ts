import type { IncomingMessage } from 'node:http';

/** A request's body, or undefined when it is over `limitBytes` or the connection failed: a stand-in answers that 400. */
export function readRequestBody(req: IncomingMessage, limitBytes: number): Promise<Buffer | undefined> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= limitBytes) chunks.push(chunk);
    });
    req.on('end', () => resolve(size <= limitBytes ? Buffer.concat(chunks) : undefined));
    req.on('error', () => resolve(undefined));
  });
}
