import fc from 'fast-check';

/**
 * Mutations of a valid plan into (mostly) invalid ones. Each says whether the result must be
 * rejected (`mustReject`); otherwise the engine may reject it or run it, and a run must
 * equal the reference. Positions are picks into the list of places in the plan that fit.
 */

type Path = (string | number)[];
type Json = Record<string, unknown>;

export type Mutation =
  | { kind: 'cycle'; at: number[] }
  | { kind: 'unknownRef'; where: 'dep' | 'leaf' | 'from' | 'fromNoDep'; at: number; name: string }
  | { kind: 'duplicateId'; at: [number, number] }
  | { kind: 'badNumber'; at: number; value: unknown }
  | { kind: 'unknownKey'; at: number; key: string }
  | { kind: 'protoKey'; at: number; entry: string }
  | { kind: 'replace'; at: number; value: unknown }
  | { kind: 'drop'; at: number }
  | { kind: 'unknownSource'; at: number; name: string }
  | { kind: 'protoName'; at: number; name: string };

const at = fc.nat({ max: 10_000 });
const PROTO_NAMES = ['__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', 'valueOf', '__defineGetter__'];
const NUMBERS = [Number.NaN, Infinity, -Infinity, -1, 1.5, -0, 0, 2 ** 31 - 1, 2 ** 31, 1e21, 2 ** 53, Number.MIN_VALUE, -(2 ** 31)];

export const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('cycle' as const), at: fc.array(at, { minLength: 1, maxLength: 3 }) }),
  fc.record({ kind: fc.constant('unknownRef' as const), where: fc.constantFrom('dep' as const, 'leaf' as const, 'from' as const, 'fromNoDep' as const), at, name: fc.constantFrom('zz', '__proto__', 'constructor', 'toString', '', ' a', 'A') }),
  fc.record({ kind: fc.constant('duplicateId' as const), at: fc.tuple(at, at) }),
  fc.record({ kind: fc.constant('badNumber' as const), at, value: fc.oneof(fc.constantFrom(...NUMBERS), fc.constantFrom('1', null, true, [], {})) }),
  fc.record({ kind: fc.constant('unknownKey' as const), at, key: fc.constantFrom('zzz', 'Id', 'deps', '$from', '$param', 'toString', 'valueOf', 'op') }),
  fc.record({ kind: fc.constant('protoKey' as const), at, entry: fc.constantFrom('"__proto__":{"polluted":1}', '"constructor":{"prototype":{"polluted":1}}', '"prototype":{"polluted":1}', '"__proto__":null', '"__proto__":[1]') }),
  fc.record({
    kind: fc.constant('replace' as const),
    at,
    value: fc.anything({ maxDepth: 3, withBigInt: true, withDate: true, withMap: true, withSet: true, withTypedArray: true, withNullPrototype: true, withSparseArray: true, withBoxedValues: true, withObjectString: true }),
  }),
  fc.record({ kind: fc.constant('drop' as const), at }),
  fc.record({ kind: fc.constant('unknownSource' as const), at, name: fc.constantFrom('nosuch', '__proto__', 'constructor', 'MEM', '') }),
  fc.record({ kind: fc.constant('protoName' as const), at, name: fc.constantFrom(...PROTO_NAMES) }),
);

/** Every place in the plan (objects, arrays and leaves), depth first, with its path. */
function places(root: unknown, path: Path = [], out: { path: Path; value: unknown }[] = []) {
  out.push({ path, value: root });
  if (Array.isArray(root)) root.forEach((v, i) => places(v, [...path, i], out));
  else if (typeof root === 'object' && root !== null) for (const k of Object.keys(root)) places((root as Json)[k], [...path, k], out);
  return out;
}

function parentOf(root: unknown, path: Path): Json {
  let node = root;
  for (const k of path.slice(0, -1)) node = (node as Json)[k];
  return node as Json;
}

function setIn(root: unknown, path: Path, value: unknown): unknown {
  if (path.length === 0) return value;
  Object.defineProperty(parentOf(root, path), path[path.length - 1]!, { value, enumerable: true, writable: true, configurable: true });
  return root;
}

const choose = <T>(items: T[], n: number): T | undefined => (items.length === 0 ? undefined : items[n % items.length]);
const inParams = (path: Path): boolean => path.includes('params');
const NUMERIC_KEYS = new Set(['n', 'offset', 'timeoutMs', 'deadlineMs', 'size', 'param', 'attempts', 'initialDelayMs', 'maxDelayMs', 'factor', 'ttlMs']);
const ADD_NUMBER_AT: Path[] = [['timeoutMs'], ['fragments', 0, 'timeoutMs'], ['fragments', 0, 'retry'], ['merge']];

function mergeLeaves(plan: Json): Path[] {
  return places(plan.merge, ['merge']).filter(({ path, value }) => typeof value === 'string' && ['merge', 'inputs', 'left', 'right', 'parent', 'child', 'input'].includes(String(typeof path[path.length - 1] === 'number' ? path[path.length - 2] : path[path.length - 1]))).map((p) => p.path);
}

/** Applies a mutation to a copy of a valid plan. */
export function mutate(valid: Json, m: Mutation): { plan: unknown; mustReject: boolean } {
  const plan = JSON.parse(JSON.stringify(valid)) as Json;
  const fragments = plan.fragments as Json[];
  const frag = (n: number) => fragments[n % fragments.length]!;
  const deps = (f: Json) => (f.dependsOn ??= []) as string[];
  switch (m.kind) {
    case 'cycle': {
      const ring = m.at.map(frag);
      ring.forEach((f, i) => deps(f).push(ring[(i + 1) % ring.length]!.id as string));
      return { plan, mustReject: true };
    }
    case 'unknownRef': {
      const ids = fragments.map((f) => f.id as string);
      if (ids.includes(m.name)) return { plan, mustReject: false };
      const f = frag(m.at);
      if (m.where === 'dep') deps(f).push(m.name);
      else if (m.where === 'leaf') {
        const leaf = choose(mergeLeaves(plan), m.at);
        if (leaf) setIn(plan, leaf, m.name);
        else plan.merge = m.name;
      } else {
        const from = m.where === 'from' ? m.name : (ids.find((id) => id !== f.id && !deps(f).includes(id)) ?? m.name);
        if (m.where === 'from') deps(f).push(m.name);
        const ref = { $from: from, column: 'id' };
        const q = f.query as Json;
        if (f.source === 'sql') (q.params as unknown[]).push(ref);
        else q.where = q.where === undefined ? { in: ['id', ref] } : { and: [q.where, { in: ['id', ref] }] };
      }
      return { plan, mustReject: true };
    }
    case 'duplicateId': {
      const [i, j] = m.at.map((n) => n % fragments.length) as [number, number];
      if (i === j) fragments.push(structuredClone(fragments[i]!));
      else fragments[j]!.id = fragments[i]!.id;
      return { plan, mustReject: true };
    }
    case 'badNumber': {
      const slots = places(plan).filter(({ path, value }) => typeof value === 'number' && NUMERIC_KEYS.has(String(path[path.length - 1])) && !inParams(path));
      const slot = choose(slots, m.at);
      const add = ADD_NUMBER_AT[m.at % ADD_NUMBER_AT.length]!;
      if (slot && m.at % 3 !== 0) setIn(plan, slot.path, m.value);
      else if (add[add.length - 1] === 'retry') setIn(plan, add, { attempts: m.value });
      else if (add[0] === 'merge') plan.merge = { op: 'limit', input: plan.merge ?? fragments[0]!.id, n: m.value };
      else setIn(plan, add, m.value);
      const v = m.value;
      const overTimer = typeof v === 'number' && v > 2 ** 31 - 1 && ((slot && m.at % 3 !== 0 ? slot.path : add).join('.').includes('timeoutMs'));
      return { plan, mustReject: typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0 || overTimer };
    }
    case 'unknownKey':
    case 'protoKey': {
      const objects = places(plan).filter(({ value }) => typeof value === 'object' && value !== null && !Array.isArray(value));
      const target = choose(objects, m.at)!;
      let replacement: unknown;
      if (m.kind === 'unknownKey') replacement = { ...(target.value as Json), [m.key]: 1 };
      else {
        const text = JSON.stringify(target.value);
        // JSON.parse makes `__proto__` an own property, as a plan read from a file would have.
        replacement = JSON.parse(text === '{}' ? `{${m.entry}}` : `{${m.entry},${text.slice(1)}`);
      }
      const mutated = setIn(plan, target.path, replacement);
      return { plan: mutated, mustReject: !inParams(target.path) };
    }
    case 'replace': {
      const target = choose(places(plan), m.at)!;
      return { plan: setIn(plan, target.path, m.value), mustReject: false };
    }
    case 'drop': {
      const target = choose(places(plan).filter((p) => p.path.length > 0), m.at)!;
      const parent = parentOf(plan, target.path);
      const key = target.path[target.path.length - 1]!;
      if (Array.isArray(parent)) parent.splice(key as number, 1);
      else delete parent[key];
      return { plan, mustReject: false };
    }
    case 'unknownSource':
      frag(m.at).source = m.name;
      return { plan, mustReject: true };
    case 'protoName': {
      // Memory `columns` and `$from.column` slots are left out: see known-bugs.test.ts.
      const slots = places(plan).filter(({ path, value }) => {
        if (typeof value !== 'string' || path.length === 0) return false;
        const key = String(path[path.length - 1]);
        if (path.includes('columns') && path[0] === 'fragments') return false;
        if (key === 'column' && typeof (parentOf(plan, path) as Json).$from === 'string') return false;
        return !['source', 'sql', 'op', 'type', 'errorPolicy', 'schedule', 'table', 'fn', 'nulls', 'id'].includes(key);
      });
      const slot = choose(slots, m.at);
      if (slot) setIn(plan, slot.path, m.name);
      return { plan, mustReject: false };
    }
    default:
      return m satisfies never;
  }
}
