import type { MergeNode } from '../plan/schema.js';
import type { Row } from '../data/row.js';
import { pickMaker } from '../data/row-maker.js';
import { columnsOf } from './relation.js';
import type { KnownColumns } from './stream-columns.js';
import { leavesOf } from './tree.js';
import { UNBOUNDED_COUNT, type StepCount } from './result-bound.js';

/** One step of a streaming path: a batch in, the rows it becomes out. */
export type Step = (batch: Row[]) => Row[] | Promise<Row[]>;

/** Runs `rows` through `steps` in order (an empty batch stops early: no step makes rows from none). */
export async function runSteps(rows: Row[], steps: readonly Step[]): Promise<Row[]> {
  for (const step of steps) {
    if (rows.length === 0) break;
    rows = await step(rows);
  }
  return rows;
}

/**
 * A streamed `union` (without `distinct`): the whole merge gives every row every input's
 * columns, `null` where its input has none, so a streamed row needs them all. Until every
 * fragment under the union has named its columns (its first batch — a SQL source names them
 * before its first row — or its end), its batches are held here, in memory and without
 * back-pressure: holding a source back could wait forever for one that needs its lane slot or
 * binds its rows. Once they have, held batches go on (`release`) and new ones pass straight
 * through, padded in the whole merge's column order.
 */
export class UnionPad {
  readonly #node: MergeNode;
  readonly #leaves: readonly string[];
  readonly #known: KnownColumns;
  /** The steps above the union, which held batches still have to go through. */
  readonly #above: readonly Step[];
  #complete = false;
  #held: Row[][] = [];

  /** The union's output, all its batches together (`maxResultRows` / `maxResultBytes`). */
  readonly #count: StepCount;

  constructor(node: MergeNode, known: KnownColumns, above: readonly Step[], count: StepCount = UNBOUNDED_COUNT) {
    this.#node = node;
    this.#count = count;
    this.#leaves = leavesOf(node);
    this.#known = known;
    this.#above = above;
  }

  /** The union's step: a batch padded to the union's columns, or held (none out) while they are not all known. */
  readonly step: Step = (batch) => {
    if (!this.#ready()) {
      this.#held.push(batch);
      return [];
    }
    return this.#pad(batch);
  };

  /** The held batches, padded and through the steps above, once every input has named its columns (undefined while none go). */
  release(): Promise<Row[]> | undefined {
    if (this.#held.length === 0 || !this.#ready()) return undefined;
    const held = this.#held;
    this.#held = [];
    return (async () => {
      const out: Row[] = [];
      for (const batch of held) for (const row of await runSteps(this.#pad(batch), this.#above)) out.push(row);
      return out;
    })();
  }

  #ready(): boolean {
    if (this.#complete) return true;
    const known = this.#known;
    return (this.#complete = this.#leaves.every((leaf) => known.settledFor(leaf)));
  }

  #pad(batch: Row[]): Row[] {
    const columns = this.#known.columnsAt(this.#node, batch);
    const own = columnsOf(batch);
    if (own.length === columns.length && own.every((c, i) => c === columns[i])) {
      this.#count.end(batch);
      return batch;
    }
    const pick = pickMaker(columns, batch.length);
    const out = batch.map((row) => pick(row));
    this.#count.end(out);
    return out;
  }
}
