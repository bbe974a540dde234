import { isPlainRow } from '../data/row.js';
import { nonJsonKind } from './json-value.js';

/** Bounds on one value's shape. */
export interface ValueShapeLimits {
  /** Deepest nesting of arrays and objects (the value itself is level 1). */
  maxNesting: number;
  /** Most arrays and objects in the value. */
  maxContainers: number;
}

/** The first problem found in a value: where (keys and indexes from the value), and what. */
export interface ValueShapeProblem {
  path: (string | number)[];
  message: string;
}

interface Visit {
  value: unknown;
  depth: number;
  parent: Visit | undefined;
  key: string | number | undefined;
  exit?: true;
}

/**
 * Checks a value given to a run from outside the plan (a run parameter) the way a plan's
 * JSON is checked before anything runs: no deeper than `maxNesting`, no more than
 * `maxContainers` arrays and objects, no reference cycle, and nothing JSON would silently
 * lose (`kindOf`, by default `nonJsonKind`). Iterative, so hostile nesting cannot overflow
 * the stack here, and once it passes, nothing later (cache keys, drivers) recurses deeper
 * than the limit either. Values that bind as themselves (a Date, a Buffer or typed array, an
 * object with `toJSON`, another class's instance) are not looked into.
 */
export function valueShapeProblem(
  root: unknown,
  limits: ValueShapeLimits,
  kindOf: (value: unknown) => string | undefined = nonJsonKind,
): ValueShapeProblem | undefined {
  const onPath = new Set<object>();
  const stack: Visit[] = [{ value: root, depth: 1, parent: undefined, key: undefined }];
  let containers = 0;
  while (stack.length > 0) {
    const visit = stack.pop()!;
    const { value, depth } = visit;
    const kind = kindOf(value);
    if (kind !== undefined) return { path: pathOf(visit), message: kind };
    if (typeof value !== 'object' || value === null) continue;
    if (visit.exit) {
      onPath.delete(value);
      continue;
    }
    if (!Array.isArray(value) && !isPlainRow(value)) continue;
    if (typeof (value as { toJSON?: unknown }).toJSON === 'function') continue;
    if (onPath.has(value)) return { path: pathOf(visit), message: 'the value contains a reference cycle and is not JSON' };
    if (depth > limits.maxNesting) return { path: pathOf(visit), message: `the value nests deeper than ${limits.maxNesting} levels` };
    if (++containers > limits.maxContainers) return { path: [], message: `the value holds more than ${limits.maxContainers} arrays and objects` };
    onPath.add(value);
    stack.push({ ...visit, exit: true });
    // Scalars are checked in place (a list of 100,000 ids costs no allocation); containers
    // are pushed last to first, so they are looked into in order.
    const record = value as Record<string | number, unknown>;
    const keys: readonly string[] | undefined = Array.isArray(value) ? undefined : Object.keys(value);
    const count = keys === undefined ? (value as unknown[]).length : keys.length;
    for (let i = 0; i < count; i++) {
      const key = keys === undefined ? i : keys[i]!;
      const child = record[key];
      if (typeof child === 'object' && child !== null) continue;
      const childKind = kindOf(child);
      if (childKind !== undefined) return { path: [...pathOf(visit), key], message: childKind };
    }
    for (let i = count - 1; i >= 0; i--) {
      const key = keys === undefined ? i : keys[i]!;
      const child = record[key];
      if (typeof child === 'object' && child !== null) stack.push({ value: child, depth: depth + 1, parent: visit, key });
    }
  }
  return undefined;
}

function pathOf(visit: Visit): (string | number)[] {
  const path: (string | number)[] = [];
  for (let at: Visit | undefined = visit; at?.key !== undefined; at = at.parent) path.push(at.key);
  return path.reverse();
}
