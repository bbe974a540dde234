/* A query run's parts; the executor uses them, the public API re-exports the types. */
export { startRun } from './start.js';
export { PreparedPlan, type PreparedFragment } from './prepare.js';
export type { QueryRun, RecordOptions, RunOptions, RunRuntime } from './types.js';
export type { QueryResult, FragmentReport } from './result.js';
export type { Completeness, CompletenessReason, FragmentCompleteness } from './completeness.js';
export { checkOptionsObject, runOptionsSchema } from './run-options.js';
export type { FragmentCounts, FragmentState } from './status-table.js';
export type { QueryPort, SourceCounts } from './port.js';
