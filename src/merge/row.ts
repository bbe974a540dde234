import type { Row } from '../sources/source.js';

/**
 * Sets a column on a row as an own data property. Plain assignment would treat a column
 * named `__proto__` (possible in untrusted JSON) as the prototype setter.
 */
export function setColumn(row: Row, name: string, value: unknown): void {
  if (name === '__proto__') {
    Object.defineProperty(row, name, { value, enumerable: true, writable: true, configurable: true });
  } else {
    row[name] = value;
  }
}
