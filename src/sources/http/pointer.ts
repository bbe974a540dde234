/**
 * RFC 6901 JSON pointers over parsed JSON. Only own properties are followed, so a pointer
 * such as `/constructor` or `/__proto__` can never reach into Object.prototype.
 */

/** A pointer is `''` (the whole document) or `/`-separated tokens with `~0`/`~1` escapes. */
export const JSON_POINTER = /^(?:\/(?:[^~/]|~[01])*)*$/;

/** True when `pointer` is well-formed per RFC 6901. */
export function isJsonPointer(pointer: string): boolean {
  return JSON_POINTER.test(pointer);
}

/** Splits a pointer into its unescaped reference tokens (`~1` → `/`, then `~0` → `~`). */
export function parsePointer(pointer: string): string[] {
  if (!isJsonPointer(pointer)) throw new SyntaxError(`not a JSON pointer: ${JSON.stringify(pointer)}`);
  if (pointer === '') return [];
  return pointer
    .slice(1)
    .split('/')
    .map((token) => token.replaceAll('~1', '/').replaceAll('~0', '~'));
}

const ARRAY_INDEX = /^(?:0|[1-9][0-9]*)$/;

/**
 * The value `pointer` designates in `document`, or `undefined` when a token does not exist
 * (a missing key, an index past the end, `-`, or a step into a scalar).
 */
export function resolvePointer(document: unknown, pointer: string): unknown {
  let current: unknown = document;
  for (const token of parsePointer(pointer)) {
    if (Array.isArray(current)) {
      if (!ARRAY_INDEX.test(token)) return undefined;
      const index = Number(token);
      if (index >= current.length) return undefined;
      current = current[index];
    } else if (typeof current === 'object' && current !== null) {
      // Object.hasOwn: inherited members (constructor, __proto__, toString) are not data.
      if (!Object.hasOwn(current, token)) return undefined;
      current = (current as Record<string, unknown>)[token];
    } else {
      return undefined;
    }
  }
  return current;
}
