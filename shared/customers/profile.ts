/**
 * One customer profile, whatever directory it comes from. Each provider maps it to its own
 * response shape (functions/<provider>/contract.ts).
 */
export interface CustomerProfile {
  readonly userId: string;
  readonly email?: string;
  readonly name?: string;
  readonly role?: string;
  readonly plan?: string;
  /** A number for sorting or prioritising (Helper's `value`, e.g. lifetime value). */
  readonly value?: number;
  /** Free-form attributes: Buddy's customAttributes, Talki's fields, Helper's metadata. */
  readonly attributes?: Readonly<Record<string, unknown>>;
  /** Label -> URL links for agents (Helper's actions). */
  readonly actions?: Readonly<Record<string, string>>;
  /** Sessions that identify this customer (Buddy). */
  readonly sessionIds?: readonly string[];
}

export interface LookupOptions {
  /** Aborted when the provider's dependency deadline passes. */
  readonly signal?: AbortSignal;
}

/** Where the customers live. Adapters throw on infrastructure failure; "not found" is `undefined`. */
export interface CustomerDirectory {
  findBySessionId(sessionId: string, options?: LookupOptions): Promise<CustomerProfile | undefined>;
  findByUserId(userId: string, options?: LookupOptions): Promise<CustomerProfile | undefined>;
  /** Case-insensitive. */
  findByEmail(email: string, options?: LookupOptions): Promise<CustomerProfile | undefined>;
}
