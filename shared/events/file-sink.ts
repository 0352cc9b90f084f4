import { appendFile } from 'node:fs/promises';
import { documentedRejection } from './entry.js';
import type { EventEntry, EventSink, PublishOptions } from './event.js';

/**
 * The local server's event bus: each accepted entry as one JSON line, `{source, detailType, time,
 * detail}`, `detail` being the Detail text exactly as PutEvents would receive it. It refuses what
 * EventBridge's documented limits refuse (size, DetailType, nesting, int64), so `npm start` parks
 * and claim-checks what AWS would.
 */
export class FileEventSink implements EventSink {
  constructor(private readonly path: string) {}

  async publish(entry: EventEntry, options: PublishOptions = {}): Promise<void> {
    options.signal?.throwIfAborted();
    const refused = documentedRejection(entry);
    if (refused) throw refused;
    // One appendFile call per line: O_APPEND keeps concurrent lines whole.
    await appendFile(this.path, JSON.stringify({ source: entry.source, detailType: entry.detailType, time: entry.time, detail: entry.detail }) + '\n', 'utf8');
  }
}
