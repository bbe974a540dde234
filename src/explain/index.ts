/* EXPLAIN and EXPLAIN ANALYZE: what a plan will do, and where a run spent its time. */
export { explain } from './explain.js';
export type { ExplainOptions, PlanExplanation, FragmentExplanation, BoundInput, DependencyEdge } from './explain.js';
export type { MergeExplanation } from './merge-tree.js';
export { analyze } from './analyze.js';
export type { AnalyzeOptions, QueryAnalysis, FragmentTiming } from './analyze.js';
export { criticalPath } from './critical-path.js';
export { querySummary } from './summary.js';
