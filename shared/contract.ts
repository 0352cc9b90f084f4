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
