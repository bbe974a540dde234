/**
 * Reading whatever a source threw, without ever throwing in turn. A source may reject with
 * anything: `null`, a string, a frozen object, a Proxy whose traps throw, an Error whose
 * `code` or `message` getter throws, a cause chain that loops. The classification reads it
 * through these helpers, so a hostile value becomes a clean fragment failure rather than an
 * exception inside the pipeline (an unhandled rejection, a fragment that never settles).
 */

/** `value[key]`, or undefined when `value` is not an object or reading it throws. */
export function readField(value: unknown, key: PropertyKey): unknown {
  if ((typeof value !== 'object' && typeof value !== 'function') || value === null) return undefined;
  try {
    return (value as Record<PropertyKey, unknown>)[key];
  } catch {
    return undefined;
  }
}

/** `value instanceof type`, false when the check throws (a Proxy's `getPrototypeOf` trap). */
export function isInstance<T>(value: unknown, type: abstract new (...args: never[]) => T): value is T {
  try {
    return value instanceof type;
  } catch {
    return false;
  }
}

/**
 * A message for a thrown value: an Error's (or any object's) string `message`, else its
 * string form, else a plain description when even that throws (an object without a
 * prototype, a `toString` that throws, a Proxy).
 */
export function describeThrown(value: unknown): string {
  const message = readField(value, 'message');
  if (typeof message === 'string' && (message !== '' || isInstance(value, Error))) return message;
  try {
    return String(value);
  } catch {
    return `a thrown ${typeof value} that cannot be printed`;
  }
}
