import { appendFile } from 'node:fs/promises';
import type { EventSink, PublishOptions, WebhookEvent } from './event.js';

/**
 * The local server's event bus: each verified event as one JSON line ({provider, eventType, payload,
 * delivery}), the same fields the EventBridge sink puts in source, detail-type and detail.
 */
export class FileEventSink implements EventSink {
  constructor(private readonly path: string) {}

  async publish(event: WebhookEvent, options: PublishOptions = {}): Promise<void> {
    options.signal?.throwIfAborted();
    // One appendFile call per line: O_APPEND keeps concurrent lines whole.
    await appendFile(this.path, JSON.stringify(event) + '\n', 'utf8');
  }
}
