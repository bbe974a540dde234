import { joinRightName, type MergeNode } from '../plan/schema.js';
import type { Row } from '../data/row.js';
import { mergeFailed } from '../data/fail.js';
import { join } from './join.js';
import { keep } from './filter.js';
import { compilePredicate } from '../data/predicate.js';
import { project } from './project.js';
import { columnsOf } from './relation.js';
import { evaluateMerge } from './evaluate.js';
import { emptyInputs, KnownColumns, outputColumns, projectedColumns } from './stream-columns.js';
import { leavesOf, children } from './tree.js';
import { runSteps, UnionPad, type Step } from './stream-union.js';
import { resultBound, type ResultBound, type ResultLimits } from './result-bound.js';

interface Path {
  leaf: string;
  /** Steps from the leaf up to the root. */
  steps: Step[];
  /** Limits on the way: once one is full for the path's leaf, this path needs no more rows. */
  limits: { full(leaf: string): boolean }[];
}

/** What a streaming merge needs from its run. */
export interface StreamContext {
  /** Resolves with the merged rows of a materialized subtree (at `path` in the plan) once its fragments are done. */
  materialize(node: MergeNode, path: string): Promise<Row[]>;
  params: Readonly<Record<string, unknown>>;
  /**
   * Bounds on each merge step's output, all its batches together (see `EvaluateOptions.limits`;
   * absent: the default byte bound).
   */
  limits?: ResultLimits;
  /**
   * The column names of a fragment whose rows do not flow through `push` (a join's
   * materialized side), for `StreamFlow.columns()`: e.g. `columnsOf(storedRows)`.
   */
  leafColumns?(leaf: string): readonly string[] | undefined;
  /**
   * True when a union waits for `leaf` to name its columns before its rows go on (its source
   * names them before its first row, and nothing holds its start back). Default: never.
   */
  awaitsColumns?(leaf: string): boolean;
}

/** A merge tree that rows can flow through batch by batch. */
export interface StreamPlan {
  /** Fragments whose batches flow to the output. */
  leaves: ReadonlySet<string>;
  /** Fragments a join's right side needs whole (materialized before probing). */
  materialized: ReadonlySet<string>;
  /**
   * For each streaming leaf, the fragments of the join right sides on its way to the output:
   * its batches cannot pass those joins before these have settled.
   */
  waitsOn: ReadonlyMap<string, ReadonlySet<string>>;
  /** Starts one run's flow: its limits and join build sides are per run. */
  start(ctx: StreamContext): StreamFlow;
}

export interface StreamFlow {
  /**
   * A batch of `leaf` is on its way (`push` it next): its columns count from now on. Returns
   * the output rows that releases — batches a union held until every input had named its
   * columns — or undefined when it releases none. Apart from `push`, so rows held for this
   * batch's columns go out even while the batch itself waits (at a join's right side).
   */
  show(leaf: string, batch: Row[]): Promise<Row[]> | undefined;
  /** The output rows one batch of `leaf` becomes. */
  push(leaf: string, batch: Row[]): Promise<Row[]>;
  /** `leaf` will push no more (it settled, failed, was skipped or not run): as `show`, the rows that releases. */
  end(leaf: string): Promise<Row[]> | undefined;
  /** True when no path from `leaf` needs more rows (a limit on the way is full). */
  satisfied(leaf: string): boolean;
  /**
   * The output's column names, worked out from the leaves' columns (the first batch of
   * each streaming leaf carries them, `withColumns`; the others come from
   * `StreamContext.leafColumns`), so a stream that yields no row still has them.
   */
  columns(): string[];
  /**
   * Once every fragment has settled: throws what the whole merge would have thrown over the
   * leaves' columns (a projected column no input has) or when the batches named a join's
   * right column in two ways. A batch only shows its own columns; this sees all of them.
   */
  verify(): void;
}

/**
 * Decides whether a merge tree can stream, and how: `union` (without `distinct`),
 * `filter`, `project` and `limit` pass batches through; a `join` streams its left (probe)
 * side against a right side that is materialized first. Anything else — `sort`,
 * `aggregate`, `nest`, `union distinct`, a join whose right side streams — needs every row
 * before its first output, so the tree does not stream (undefined).
 */
export function planStream(root: MergeNode): StreamPlan | undefined {
  if (!streamable(root)) return undefined;
  const leaves = new Set<string>();
  collectLeaves(root, leaves);
  const materialized = new Set(leavesOf(root).filter((leaf) => !leaves.has(leaf)));
  collectRightSides(root, materialized);
  const waitsOn = new Map<string, Set<string>>();
  collectWaits(root, [], waitsOn);
  return {
    leaves,
    materialized,
    waitsOn,
    start(ctx) {
      const paths: Path[] = [];
      const known = new KnownColumns(ctx);
      const unions: UnionPad[] = [];
      build(root, [], [], 'merge', ctx, known, paths, unions, resultBound(ctx.limits));
      const satisfied = (leaf: string): boolean => paths.every((p) => p.leaf !== leaf || p.limits.some((l) => l.full(leaf)));
      // Batches unions held until their inputs had all named their columns, in the order they came.
      const released = (): Promise<Row[]> | undefined => {
        let out: Promise<Row[]> | undefined;
        for (const union of unions) {
          const rows = union.release();
          if (rows) out = out ? Promise.all([out, rows]).then(([a, b]) => a.concat(b)) : rows;
        }
        return out;
      };
      // The batch `show` has just seen: `push` need not scan its columns again.
      let shown: Row[] | undefined;
      return {
        show(leaf, batch) {
          known.see(leaf, batch);
          shown = batch;
          return unions.length > 0 ? released() : undefined;
        },
        async push(leaf, batch) {
          if (batch !== shown) known.see(leaf, batch);
          shown = undefined;
          const out: Row[] = [];
          for (const path of paths) {
            if (path.leaf !== leaf || path.limits.some((l) => l.full(leaf))) continue;
            for (const row of await runSteps(batch, path.steps)) out.push(row);
          }
          return out;
        },
        end(leaf) {
          known.end(leaf);
          return unions.length > 0 ? released() : undefined;
        },
        satisfied,
        columns: () => outputColumns(root, known.of, ctx.params),
        verify() {
          // A leaf a full limit stopped before its first batch never showed its columns: a
          // project must not fail for a column only that leaf might have had.
          const stopped = [...leaves].filter((leaf) => known.of(leaf) === undefined && satisfied(leaf));
          const assumed = stopped.length === 0 ? [] : projectedColumns(root);
          const columnsOf = (leaf: string) => known.of(leaf) ?? (stopped.includes(leaf) ? assumed : undefined);
          evaluateMerge(root, emptyInputs(root, columnsOf, known.named), { params: ctx.params });
          for (const check of known.checks) check();
        },
      };
    },
  };
}

function streamable(node: MergeNode): boolean {
  if (typeof node === 'string') return true;
  switch (node.op) {
    case 'union':
      return !node.distinct && node.inputs.every(streamable);
    case 'filter':
    case 'project':
    case 'limit':
      return streamable(node.input);
    case 'join':
      return streamable(node.left) && leavesOf(node.right).every((leaf) => !leavesOf(node.left).includes(leaf));
    default:
      return false;
  }
}

/** The leaves on streaming paths (a join's right side is materialized, not streamed). */
function collectLeaves(node: MergeNode, out: Set<string>): void {
  if (typeof node === 'string') out.add(node);
  else if (node.op === 'join') collectLeaves(node.left, out);
  else for (const child of children(node)) collectLeaves(child, out);
}

/** Each streaming leaf's join right-side fragments, on its way up (see `StreamPlan.waitsOn`). */
function collectWaits(node: MergeNode, above: readonly string[], out: Map<string, Set<string>>): void {
  if (typeof node === 'string') {
    let waits = out.get(node);
    if (!waits) out.set(node, (waits = new Set()));
    for (const id of above) waits.add(id);
    return;
  }
  if (node.op === 'join') collectWaits(node.left, [...above, ...leavesOf(node.right)], out);
  else for (const child of children(node)) collectWaits(child, above, out);
}

function collectRightSides(node: MergeNode, out: Set<string>): void {
  if (typeof node === 'string') return;
  if (node.op === 'join') for (const leaf of leavesOf(node.right)) out.add(leaf);
  for (const child of children(node)) collectRightSides(child, out);
}

/** A step whose output is counted against the result bounds, every batch it makes together. */
function counted(step: (batch: Row[]) => Row[], bound: ResultBound, path: string): Step {
  if (!bound.bounded) return step;
  const count = bound.step(path);
  return (batch) => {
    const rows = step(batch);
    count.end(rows);
    return rows;
  };
}

function build(node: MergeNode, steps: Step[], limits: Path['limits'], path: string, ctx: StreamContext, known: KnownColumns, out: Path[], unions: UnionPad[], bound: ResultBound): void {
  if (typeof node === 'string') {
    out.push({ leaf: node, steps, limits });
    return;
  }
  const resolveParam = (name: string): unknown => (Object.hasOwn(ctx.params, name) ? ctx.params[name] : undefined);
  switch (node.op) {
    case 'union': {
      // The whole merge gives every row every input's columns (null where its input has none).
      let above = steps;
      if (node.inputs.length > 1) {
        const pad = new UnionPad(node, known, steps, bound.step(path));
        unions.push(pad);
        above = [pad.step, ...steps];
      }
      node.inputs.forEach((input, i) => build(input, above, limits, `${path}.inputs[${i}]`, ctx, known, out, unions, bound));
      return;
    }
    case 'filter': {
      const test = compilePredicate(node.where, resolveParam, `${path}.where`);
      const count = bound.step(path);
      build(node.input, [(batch) => keep(batch, test, count), ...steps], limits, `${path}.input`, ctx, known, out, unions, bound);
      return;
    }
    case 'project': {
      // A batch shows only its own input's columns: a column another input of a union has
      // is null here, as the whole merge pads it. One no input has fails the merge (`verify`),
      // and at once when every leaf below has shown its columns.
      const input = node.input;
      const count = bound.step(path);
      const step: Step = (batch) => {
        const columns = known.columnsAt(input, batch);
        const wanted = node.columns.map((c) => (typeof c === 'string' ? c : c.column));
        const lacking = wanted.filter((c) => !columns.includes(c));
        return project({ rows: batch, columns: known.complete(input) ? columns : [...columns, ...lacking] }, node.columns, path, count).rows;
      };
      build(input, [step, ...steps], limits, `${path}.input`, ctx, known, out, unions, bound);
      return;
    }
    case 'limit': {
      let skip = node.offset ?? 0;
      let left = node.n;
      const step = counted((batch) => {
        const skipped = Math.min(skip, batch.length);
        skip -= skipped;
        const taken = batch.slice(skipped, skipped + left);
        left -= taken.length;
        return taken;
      }, bound, path);
      // `n: 0` wants no row, but each leaf still names its columns first (its first batch), as the whole run does.
      const full = node.n > 0 ? () => left <= 0 : (leaf: string) => known.shown(leaf);
      build(node.input, [step, ...steps], [{ full }, ...limits], `${path}.input`, ctx, known, out, unions, bound);
      return;
    }
    case 'join': {
      let right: Promise<{ rows: Row[]; columns: string[] }> | undefined;
      const count = bound.step(path);
      const rightName = joinRightName(node);
      // Right columns handed on under their own name: a left column of that name showing up
      // later (another input of a union, a later page) would make the batches disagree.
      const plain = new Set<string>();
      const clash = (leftColumns: readonly string[]): void => {
        for (const column of leftColumns) {
          if (plain.has(column)) {
            throw mergeFailed(path, `the left input's column "${column}" showed up after right rows had been streamed under that name (the whole merge calls it "${rightName}.${column}"); read run.result instead of run.rows(), or project the inputs to the same columns`);
          }
        }
      };
      const step: Step = async (batch) => {
        right ??= ctx.materialize(node.right, `${path}.right`).then((rows) => ({ rows, columns: columnsOf(rows) }));
        const r = await right;
        // The left columns known so far (every input's, not only this batch's), as the whole merge names them.
        const leftColumns = known.columnsAt(node.left, batch);
        clash(leftColumns);
        const out = join({ rows: batch, columns: leftColumns }, r, { type: node.type, on: node.on, rightName }, path, count);
        if (node.type === 'inner' || node.type === 'left') for (const column of r.columns) if (!leftColumns.includes(column)) plain.add(column);
        return out.rows;
      };
      known.checks.push(() => clash(outputColumns(node.left, known.of, ctx.params)));
      build(node.left, [step, ...steps], limits, `${path}.left`, ctx, known, out, unions, bound);
      return;
    }
    default:
      throw mergeFailed(path, `"${node.op}" cannot stream`);
  }
}

