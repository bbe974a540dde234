import type { MergeNode } from '../plan/schema.js';
import type { Row } from '../data/row.js';
import { columnsOf as attachedColumns, withColumns } from '../data/columns.js';
import { columnsOf, withSeenColumns } from './relation.js';
import { evaluateMerge } from './evaluate.js';
import { children, leavesOf } from './tree.js';
import type { StreamContext } from './stream.js';

/**
 * A merge tree's output columns from its leaves' columns: the tree evaluated over empty
 * inputs that carry them (every operator works out its columns from its inputs'). A leaf
 * whose columns are unknown counts as having none; a tree that cannot be evaluated
 * without rows gives `[]`.
 */
export function outputColumns(root: MergeNode, leafColumns: (leaf: string) => readonly string[] | undefined, params: Readonly<Record<string, unknown>> = {}): string[] {
  try {
    return evaluateMerge(root, emptyInputs(root, leafColumns), { params }).columns;
  } catch {
    return [];
  }
}

/**
 * Each leaf of `root` as an empty rows array carrying its columns: as named by its source
 * where `named(leaf)` (so the merge checks the columns its steps read), else as seen.
 */
export function emptyInputs(root: MergeNode, leafColumns: (leaf: string) => readonly string[] | undefined, named: (leaf: string) => boolean = () => false): Map<string, Row[]> {
  return new Map<string, Row[]>(
    leavesOf(root).map((leaf) => {
      const columns = leafColumns(leaf) ?? [];
      return [leaf, named(leaf) ? withColumns([], columns) : withSeenColumns([], columns)];
    }),
  );
}

/**
 * Every column a `project` under `node` reads. A streamed leaf that a full limit stopped
 * before it showed its columns is assumed to have these: it may have had any of them, and a
 * union's other inputs lacking one is no mistake (see `StreamFlow.verify`).
 */
export function projectedColumns(node: MergeNode, out = new Set<string>()): string[] {
  if (typeof node === 'string') return [...out];
  if (node.op === 'project') for (const c of node.columns) out.add(typeof c === 'string' ? c : c.column);
  for (const child of children(node)) projectedColumns(child, out);
  return [...out];
}

/**
 * The columns each streaming leaf has shown so far (those its source named, else every key
 * of every batch), and what a subtree's columns are given them: a step sees one batch, the
 * whole merge sees every input's columns, and the stream has to name rows as it does.
 */
export class KnownColumns {
  readonly #seen = new Map<string, string[]>();
  /** Leaves whose source named their columns (the first batch carried them). */
  readonly #named = new Set<string>();
  /** Leaves that will send no more batches (settled, failed, skipped or not run). */
  readonly #ended = new Set<string>();
  readonly #ctx: StreamContext;
  /** Bumped when a leaf shows a column it had not: the cached subtree columns are stale. */
  #version = 0;
  readonly #cache = new Map<MergeNode, { version: number; columns: string[] }>();
  /** Run by `verify` at the end. */
  readonly checks: (() => void)[] = [];

  constructor(ctx: StreamContext) {
    this.#ctx = ctx;
  }

  see(leaf: string, batch: Row[]): void {
    const named = attachedColumns(batch);
    const had = this.#seen.get(leaf);
    if (named === undefined && batch.length === 0) return;
    if (had && named !== undefined) return; // a named source names every batch the same
    const columns = named ?? columnsOf(batch);
    if (!had) {
      this.#seen.set(leaf, columns);
      if (named !== undefined) this.#named.add(leaf);
      this.#version++;
      return;
    }
    for (const column of columns) {
      if (had.includes(column)) continue;
      had.push(column);
      this.#version++;
    }
  }

  /** `leaf` will send no more batches: whatever columns it has shown (or its settled rows have) are all it has. */
  end(leaf: string): void {
    this.#ended.add(leaf);
  }

  /** True once `leaf` has named its columns: by a batch (its first), or by ending. */
  shown(leaf: string): boolean {
    return this.#seen.has(leaf) || this.#ended.has(leaf);
  }

  /** True when a union need not wait for `leaf`: it has named its columns, or it is not one to wait for (`StreamContext.awaitsColumns`). */
  settledFor(leaf: string): boolean {
    return this.shown(leaf) || this.#ctx.awaitsColumns?.(leaf) !== true;
  }

  /** A leaf's columns: as streamed so far, else as its settled rows have them. */
  readonly of = (leaf: string): readonly string[] | undefined => this.#seen.get(leaf) ?? this.#ctx.leafColumns?.(leaf);

  /**
   * True when `leaf`'s source named its columns (streamed: on its first batch; settled: on
   * its stored rows), so a merge step reading a column it lacks is a mistake in the plan.
   */
  readonly named = (leaf: string): boolean => (this.#seen.has(leaf) ? this.#named.has(leaf) : this.#ctx.leafColumns?.(leaf) !== undefined);

  /** True when every leaf under `node` has shown its columns. */
  complete(node: MergeNode): boolean {
    return leavesOf(node).every((leaf) => this.#seen.has(leaf));
  }

  /** `node`'s columns as far as they are known, with `batch`'s own (a batch of it) added. */
  columnsAt(node: MergeNode, batch: readonly Row[]): string[] {
    let cached = this.#cache.get(node);
    if (cached?.version !== this.#version) {
      cached = { version: this.#version, columns: outputColumns(node, this.of, this.#ctx.params) };
      this.#cache.set(node, cached);
    }
    const own = columnsOf(batch);
    if (own.every((c) => cached.columns.includes(c))) return cached.columns;
    return [...cached.columns, ...own.filter((c) => !cached.columns.includes(c))];
  }
}
