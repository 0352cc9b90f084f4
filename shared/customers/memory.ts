import { normaliseEmail } from './parse.js';
import type { CustomerDirectory, CustomerProfile, LookupOptions } from './profile.js';

/**
 * Customers held in memory, for unit tests and benchmarks: no I/O, so a measurement shows the
 * handler's own cost. Sessions come from each profile's `sessionIds` and never expire. Like the
 * DynamoDB directory, email matching is case-insensitive and the first profile with an email wins.
 * An aborted signal rejects, as the real adapters do.
 */
export class InMemoryDirectory implements CustomerDirectory {
  private readonly byUserId = new Map<string, CustomerProfile>();
  private readonly bySessionId = new Map<string, CustomerProfile>();
  private readonly byEmail = new Map<string, CustomerProfile>();

  constructor(profiles: readonly CustomerProfile[] = []) {
    for (const profile of profiles) this.add(profile);
  }

  /** A later profile with the same userId replaces the earlier one. */
  private add(profile: CustomerProfile): void {
    this.byUserId.set(profile.userId, profile);
    for (const sessionId of profile.sessionIds ?? []) this.bySessionId.set(sessionId, profile);
    const email = profile.email === undefined ? '' : normaliseEmail(profile.email);
    if (email.length > 0 && !this.byEmail.has(email)) this.byEmail.set(email, profile);
  }

  async findByUserId(userId: string, options: LookupOptions = {}): Promise<CustomerProfile | undefined> {
    options.signal?.throwIfAborted();
    return this.byUserId.get(userId);
  }

  async findBySessionId(sessionId: string, options: LookupOptions = {}): Promise<CustomerProfile | undefined> {
    options.signal?.throwIfAborted();
    const profile = this.bySessionId.get(sessionId);
    // A replaced profile answers with its latest version.
    return profile ? this.byUserId.get(profile.userId) : undefined;
  }

  async findByEmail(email: string, options: LookupOptions = {}): Promise<CustomerProfile | undefined> {
    options.signal?.throwIfAborted();
    const profile = this.byEmail.get(normaliseEmail(email));
    return profile ? this.byUserId.get(profile.userId) : undefined;
  }
}
