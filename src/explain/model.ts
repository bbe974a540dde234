import type { CacheOverride, HedgeOptions, MergeNode, Plan, RetryOptionsInput } from '../plan/index.js';
import type { FragmentReport, QueryResult } from '../run/index.js';

/**
 * The explanation model: what EXPLAIN and EXPLAIN ANALYZE say about a plan and a run, as
 * plain data. Every renderer (text, Mermaid, DOT, SVG, HTML) reads these types and nothing
 * here imports a renderer, so the folder has no import cycles.
 */

/** One node of the explained merge tree: an operator, or a leaf naming a fragment. */
export interface MergeExplanation {
  /** `m0`, `m1`, … in pre-order; stable for a given tree. */
  id: string;
  /** The operator, or `fragment` for a leaf. */
  op: Exclude<MergeNode, string>['op'] | 'fragment';
  /** `join inner on id = customer_id`, `limit 10`, or the leaf's fragment id. */
  label: string;
  /** The leaf's fragment id. */
  fragmentId?: string;
  /** Inputs, each with the role it plays (`left`, `right`, `parent`, `child`, `input`). */
  inputs: { role: string; node: MergeExplanation }[];
}

/** A value a fragment's query receives at run time. */
export type BoundInput =
  /** `{ $from, column }`: the distinct values of an upstream column; `batchSize` when split. */
  | { kind: 'column'; path: string; fragment: string; column: string; batchSize?: number }
  /** `{ $param }`: a value passed with `run(plan, { params })`. */
  | { kind: 'param'; path: string; name: string };

/** What EXPLAIN says about one fragment. */
export interface FragmentExplanation {
  id: string;
  source: string;
  /** The source's kind (`sqlite`, `http`, …) when the sources were given. */
  sourceKind?: string;
  /**
   * The source's calls run on the executor's BullMQ workers: it says so (`remote: true`, when the
   * sources were given), or the executor's `remote` option sends them (`explain`'s `remote`).
   */
  remote?: true;
  level: number;
  dependsOn: string[];
  /** The native query, as written. */
  query: unknown;
  /** One line: SQL's first line, `table t where …`, `GET /path`. */
  summary: string;
  inputs: BoundInput[];
  batch?: { param: number; size: number };
  timeoutMs?: number;
  retry?: RetryOptionsInput;
  cache?: CacheOverride;
  /** The fragment's own `hedge` option (hedged requests), when it sets one. */
  hedge?: HedgeOptions;
  /** The fragment's own deadline (every attempt and backoff), when it sets one. */
  deadlineMs?: number;
  /** May be dropped when the query's deadline runs out. */
  optional?: boolean;
  /** With a principal and an `authorize` rule: whether the rule lets this fragment run. */
  access?: { allowed: boolean; reason?: string };
}

/**
 * What a plan sets for all its fragments (a fragment's own setting wins) and, `limits`, its
 * merge steps: `timeoutMs`, `deadlineMs` (the plan's `fragmentDeadlineMs`, each fragment's
 * own deadline), `retry`, `cache`, `hedge`.
 */
export interface PlanWideSettings {
  timeoutMs?: number;
  deadlineMs?: number;
  retry?: RetryOptionsInput;
  cache?: CacheOverride;
  hedge?: HedgeOptions;
  limits?: NonNullable<Plan['limits']>;
}

/** A `dependsOn` edge, with the upstream columns bound across it (none: ordering only). */
export interface DependencyEdge {
  from: string;
  to: string;
  columns: string[];
}

/** The plan as EXPLAIN sees it, with its renderings. */
export interface PlanExplanation {
  queryId: string;
  errorPolicy: 'fail-fast' | 'partial';
  schedule: 'levels' | 'eager';
  /** The plan's query deadline (`deadlineMs`), when it sets one. */
  deadlineMs?: number;
  /** What the plan sets for all its fragments and merge steps, when it sets any of it. */
  planWide?: PlanWideSettings;
  /** Fragment ids by level. */
  levels: string[][];
  /** In plan order. */
  fragments: FragmentExplanation[];
  edges: DependencyEdge[];
  /** The merge tree (a single leaf when the plan has no merge). */
  merge: MergeExplanation;
  /** With an `authorize` rule: whom it was asked about (by id only) and how many fragments it refuses. */
  access?: { principalId: string | undefined; refused: number };
  /** Indented text: levels, fragments, inputs, the merge tree. */
  text(): string;
  /** A Mermaid `flowchart TD`: fragments by level, dependency edges labelled with bound columns, the merge tree. */
  mermaid(): string;
  /** The same graph in Graphviz DOT. */
  dot(): string;
  /** The same graph as a standalone SVG, laid out by tributary (levels as bands, fragments coloured by source). */
  svg(): string;
  /** A self-contained HTML page: the SVG, a legend of the sources and a table of the fragments; no external resource. */
  html(): string;
}

/** What EXPLAIN ANALYZE says about one fragment; times are ms since the query started. */
export interface FragmentTiming {
  id: string;
  source: string;
  level: number;
  status: FragmentReport['status'];
  dependsOn: string[];
  /** When it asked for a lane slot (from the run's events; undefined without them). */
  queuedAt?: number;
  /** Its first source call (from the events), else when its pipeline began (the result's `startedAt`). */
  startedAt?: number;
  finishedAt?: number;
  durationMs?: number;
  /** Its share of the query's deadline (see `FragmentReport.budgetMs`), to set against `durationMs`. */
  budgetMs?: number;
  /** Tries of its longest-tried batch; 0 when served from the cache. */
  attempts: number;
  /** Source calls made, over all batches and attempts. */
  calls: number;
  rowCount: number;
  /** Estimated bytes of its rows, when known (see `AnalyzeOptions.bytes`). */
  bytes?: number;
  cached: boolean;
  /** It joined an identical load already in flight (from the events): no call of its own, `cached` false. */
  joined?: true;
  /** On the critical path. */
  critical: boolean;
}

/** EXPLAIN ANALYZE of one finished run, with its renderings. */
export interface QueryAnalysis {
  queryId: string;
  status: QueryResult['status'];
  durationMs: number;
  /** In plan order. */
  fragments: FragmentTiming[];
  /** Fragment ids from the first to the one that finished last. */
  criticalPath: string[];
  /** The merge phase, when known. */
  merge?: { startedAt: number; finishedAt: number };
  stats: QueryResult['stats'];
  /** The result's completeness report (absent for a result made before it existed). */
  completeness?: QueryResult['completeness'];
  /** A table, one row per fragment, critical ones starred. */
  text(): string;
  /** A Mermaid `gantt` chart, one bar per fragment by level, critical bars tagged `crit`. */
  mermaid(): string;
  /** The plan's DOT graph with timings, the critical path drawn in red. */
  dot(): string;
  /** The timeline (a Gantt chart) as a standalone SVG, the critical path outlined in red. */
  svg(): string;
  /** A self-contained HTML page: the plan's SVG with the critical path in red, the timeline, a table of the fragments. */
  html(): string;
}

/** The names of the renderings: a model without them is what each renderer reads. */
export type Rendering = 'text' | 'mermaid' | 'dot' | 'svg' | 'html';
/** The plan as data, without its renderings. */
export type PlanModel = Omit<PlanExplanation, Rendering>;
/** The analysis as data, without its renderings. */
export type AnalysisModel = Omit<QueryAnalysis, Rendering>;
