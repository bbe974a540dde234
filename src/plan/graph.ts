import type { ErrorIssue } from '../errors.js';
import { isPlainRow } from '../data/row.js';
import { findNonJson, nonJsonKind } from './json-value.js';
import type { PlanLimits } from './limits.js';
import type { Fragment, MergeNode } from './schema.js';

/** The raw checks' verdict: the issues, or none and the plan's JSON text. */
export interface RawShape {
  issues: ErrorIssue[];
  json?: string;
}

/**
 * Checks run on the raw input before zod sees it: a plain object, JSON-serializable with
 * nothing JSON would silently drop (see `nonJsonKind`), within the size and nesting
 * limits. Iterative, so hostile nesting cannot overflow the stack. A plan that passes
 * comes with its JSON text (the size check makes it).
 */
export function checkRawShape(input: unknown, limits: PlanLimits): RawShape {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    return { issues: [{ path: '(root)', message: 'a plan is a JSON object with "fragments"' }] };
  }
  try {
    return walk(input, limits);
  } catch (error) {
    // A getter or a Proxy that throws: not JSON, and not a reason to throw anything else.
    return { issues: [{ path: '(root)', message: `the plan cannot be read as JSON: ${(error as Error).message}` }] };
  }
}

function walk(input: object, limits: PlanLimits): RawShape {
  // Depth-first with the objects on the current path: a value shared by two branches is
  // fine (JSON just repeats it), an object inside itself is a cycle. Visits are bounded, so
  // a small object graph that expands to a huge JSON text is refused before it is expanded.
  const onPath = new Set<object>();
  const stack: { value: unknown; depth: number; exit?: true }[] = [{ value: input, depth: 1 }];
  const maxVisits = limits.maxPlanBytes;
  let visits = 0;
  while (stack.length > 0) {
    const { value, depth, exit } = stack.pop()!;
    if (typeof value !== 'object' || value === null) {
      if (nonJsonKind(value) !== undefined) return { issues: nonJsonIssue(input) };
      continue;
    }
    if (exit) {
      onPath.delete(value);
      continue;
    }
    if (++visits > maxVisits) return { issues: [{ path: '(root)', message: `the plan is larger than ${limits.maxPlanBytes} bytes as JSON` }] };
    if (depth > limits.maxNesting) return { issues: [{ path: '(root)', message: `the plan nests deeper than ${limits.maxNesting} levels` }] };
    if (onPath.has(value)) return { issues: [{ path: '(root)', message: 'the plan contains a reference cycle and is not JSON' }] };
    if (!Array.isArray(value) && !isPlainRow(value)) {
      if (nonJsonKind(value) !== undefined) return { issues: nonJsonIssue(input) };
      // A Buffer or typed array binds as bytes: nothing inside it to check.
      if (ArrayBuffer.isView(value)) continue;
    }
    // An object that says how it serializes (a Date, a decimal) is one value.
    if (typeof (value as { toJSON?: unknown }).toJSON === 'function') continue;
    onPath.add(value);
    stack.push({ value, depth, exit: true });
    for (const child of Array.isArray(value) ? value : Object.values(value)) stack.push({ value: child, depth: depth + 1 });
  }
  let json: string;
  try {
    json = JSON.stringify(input);
  } catch (error) {
    return { issues: [{ path: '(root)', message: `the plan is not serializable as JSON: ${(error as Error).message}` }] };
  }
  const size = Buffer.byteLength(json);
  if (size > limits.maxPlanBytes) return { issues: [{ path: '(root)', message: `the plan is ${size} bytes as JSON; the limit is ${limits.maxPlanBytes}` }] };
  return { issues: [], json };
}

function nonJsonIssue(input: object): ErrorIssue[] {
  const found = findNonJson(input);
  return [{ path: found?.path ?? '(root)', message: `${found?.kind ?? 'a value is not JSON'} (a plan holds JSON values; a Date or a Buffer binds as itself)` }];
}

/** The first dependency cycle found, as ids from a fragment back to itself. */
export function findCycle(fragments: readonly Fragment[], byId: ReadonlyMap<string, Fragment>): string[] | undefined {
  const state = new Map<string, 'open' | 'done'>();
  for (const start of fragments) {
    if (state.has(start.id)) continue;
    const path: string[] = [];
    const stack: { id: string; next: number }[] = [{ id: start.id, next: 0 }];
    state.set(start.id, 'open');
    path.push(start.id);
    while (stack.length > 0) {
      const top = stack[stack.length - 1]!;
      const deps = byId.get(top.id)?.dependsOn ?? [];
      if (top.next >= deps.length) {
        state.set(top.id, 'done');
        stack.pop();
        path.pop();
        continue;
      }
      const dep = deps[top.next++]!;
      if (!byId.has(dep)) continue;
      const s = state.get(dep);
      if (s === 'open') return [...path.slice(path.indexOf(dep)), dep];
      if (s === undefined) {
        state.set(dep, 'open');
        path.push(dep);
        stack.push({ id: dep, next: 0 });
      }
    }
  }
  return undefined;
}

/** The merge tree's leaves with their paths (`merge.left.inputs[1]`), and its node count. */
export function mergeLeaves(root: MergeNode): { leaves: { id: string; path: string }[]; nodes: number } {
  const leaves: { id: string; path: string }[] = [];
  let nodes = 0;
  const stack: { node: MergeNode; path: string }[] = [{ node: root, path: 'merge' }];
  while (stack.length > 0) {
    const { node, path } = stack.pop()!;
    nodes++;
    if (typeof node === 'string') {
      leaves.push({ id: node, path });
      continue;
    }
    switch (node.op) {
      case 'union':
        node.inputs.forEach((input, i) => stack.push({ node: input, path: `${path}.inputs[${i}]` }));
        break;
      case 'join':
        stack.push({ node: node.left, path: `${path}.left` }, { node: node.right, path: `${path}.right` });
        break;
      case 'nest':
        stack.push({ node: node.parent, path: `${path}.parent` }, { node: node.child, path: `${path}.child` });
        break;
      case 'project':
      case 'filter':
      case 'aggregate':
      case 'sort':
      case 'limit':
        stack.push({ node: node.input, path: `${path}.input` });
        break;
      default:
        node satisfies never;
    }
  }
  return { leaves, nodes };
}
