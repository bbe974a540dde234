import type { ObservedValueOf } from 'rxjs';
import type { Executor } from '../executor.js';

/* The live view reads the executor through its public surface only; these names follow it. */

export type ExecutionEvent = ObservedValueOf<Executor['events$']>;
export type QueryRun = ReturnType<Executor['run']>;
export type Progress = ObservedValueOf<QueryRun['progress$']>;
export type QueryResult = Awaited<QueryRun['result']>;
export type LaneFigures = ReturnType<Executor['metrics']>['lanes'];

/** What the live view needs of an executor. */
export type ViewedExecutor = Pick<Executor, 'events$' | 'metrics'>;

/** A fragment's state as the page paints it. */
export type FragmentState = 'pending' | 'queued' | 'running' | 'retrying' | 'succeeded' | 'cached' | 'failed' | 'skipped' | 'stopped';

/** One query as the page shows it (JSON, sent to the browser). */
export interface QueryView {
  /** `<plan id>#<n>`: a plan may run many times. */
  key: string;
  queryId: string;
  state: 'running' | 'ok' | 'partial' | 'failed';
  /** Wall-clock start, ms since the epoch. */
  startedAt: number;
  durationMs?: number;
  /** The plan drawn by `explainSvg`, once known (a watched run, or its result). */
  svg?: string;
  /** How many fragments the plan has (from `query.started`). */
  total?: number;
  /** `remote`: the executor's `remote` option sends its source's calls to BullMQ workers, or a worker ran one. */
  fragments: Record<string, { source: string; level: number; state: FragmentState; remote?: true }>;
  progress?: Progress;
  /** EXPLAIN ANALYZE's timeline (`analyzeSvg`) once the query has ended. */
  timeline?: string;
  criticalPath?: string[];
  error?: string;
  /** Why the plan is listed rather than drawn. */
  note?: string;
}

/** A line of the event log. */
export interface LogLine {
  key: string;
  at: number;
  type: string;
  text: string;
  /** Set on a line that tells of a failure (a fragment's, a query's, an attempt's, a hedged call's): the page shows it in red. */
  failure?: true;
}
