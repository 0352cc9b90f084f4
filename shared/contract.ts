/** The result of validating a platform's request at the edge. */
export type Parsed<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: string };

export function isJsonObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** True when the object has an own enumerable key; unlike Object.keys(...).length, allocates nothing. */
export function hasKeys(value: object): boolean {
  for (const key in value) if (Object.hasOwn(value, key)) return true;
  return false;
}

/** A response shape being built field by field before it is handed out as readonly. */
export type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/**
 * `target[key] = value` with the meaning it has in an object literal or a spread: a `__proto__` key
 * (JSON.parse makes one an ordinary own property of a profile) stays a data field instead of
 * replacing the target's prototype.
 */
export function setField(target: Record<string, unknown>, key: string, value: unknown): void {
  if (key === '__proto__') Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
  else target[key] = value;
}

/**
 * Copies the source's own enumerable fields into `target`, in order: what `{ ...target, ...source }`
 * gives, without copying `target`. Response mapping runs on every request, and in a process serving
 * several shapes V8 can make a spread of a free-form object far slower than these assignments.
 */
export function assignFields(target: Record<string, unknown>, source: Readonly<Record<string, unknown>>): void {
  for (const key in source) if (Object.hasOwn(source, key)) setField(target, key, source[key]);
}
