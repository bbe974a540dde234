/* tributary — a federated query executor. The public API, explicit named exports only. */

/* Executor */
export { createExecutor } from './executor.js';
export type { Executor, ExecutorMetrics, LaneMetrics } from './executor.js';
export type { ExecutorOptions, CacheOptions, AdaptiveConcurrencyOptions } from './config.js';
export type { HedgeOptions } from './plan/index.js';
export type { QueryRun, RunOptions, RecordOptions, QueryResult, FragmentReport, FragmentCounts, SourceCounts } from './run/index.js';
export type { Completeness, CompletenessReason, FragmentCompleteness } from './run/index.js';
export { PreparedPlan } from './run/index.js';
export type { PreparedFragment } from './run/index.js';

/* Plans */
export { plan, from, param, PlanBuilder, validatePlan, levels, planSchema, defaultPlanLimits } from './plan/index.js';
export type { Plan, Fragment, MergeNode, Predicate, ValidatedPlan, PlanLimits, PlanLimitsInput } from './plan/index.js';

/* Sources */
export { memorySource, sqliteSource, postgresSource, mysqlSource, httpSource } from './sources/index.js';
export type { MemorySourceOptions, MemoryQuery, SqliteSourceOptions, PostgresSourceOptions, MysqlSourceOptions, HttpSourceOptions, SourceLaneOptions } from './sources/index.js';
export { defaultIsRetryable, isReadOnlySql } from './sources/index.js';
export { DEFAULT_FRAGMENT_MAX_BYTES } from './data/limits.js';
export type { SourceExecutor, ExecuteContext, Principal } from './sources/index.js';
export type { Row } from './data/row.js';
export { withColumns } from './data/columns.js';

/* Remote: scale out on BullMQ workers */
export { createWorker, drainOnSignal, remoteSource, createRemoteLane } from './remote/index.js';
export type { RemoteWorker, WorkerOptions, RemoteLane, RemoteLaneOptions, RemoteMetrics, RemoteConnection, RemoteOptions } from './remote/index.js';

/* Cache */
export { redisStore, cacheKey, cacheScopeOf } from './cache/index.js';
export type { RedisStore, RedisStoreOptions, CacheStore, CacheFilter, StoredEntry, StoreHit, CacheStats, CacheInvalidation } from './cache/index.js';

/* Durable runs: run stores, resume, recordings and replay */
export { sqliteRunStore, redisRunStore, parseRecording, readRunSnapshot, storedRunKey } from './durable/index.js';
export type { RunStore, StoredRun, StoredRunInfo, StoredRunState, StoredFragment, Lease, SqliteRunStoreOptions, RedisRunStoreOptions, ResumeOptions, RunsFilter, Recording, RecordedCall, RecordedError, RecordedSettings, ReplayOptions } from './durable/index.js';

/* Telemetry */
export { instrument } from './progress/telemetry.js';
export type { TelemetryOptions } from './progress/telemetry.js';

/* Merge */
export { evaluateMerge, compilePredicate, DEFAULT_RESULT_MAX_BYTES } from './merge/index.js';
export type { EvaluateOptions, ResultLimits } from './merge/index.js';

/* Progress and events */
export { progressFrom } from './progress/progress.js';
export type { Progress } from './progress/progress.js';
export type { ExecutionEvent, ExecutionEventType } from './progress/events.js';

/* Explain */
export { explain, analyze, criticalPath, querySummary } from './explain/index.js';
export type { ExplainOptions, PlanExplanation, FragmentExplanation, BoundInput, DependencyEdge, MergeExplanation, AnalyzeOptions, QueryAnalysis, FragmentTiming } from './explain/index.js';

/* The live view: an offline page of an executor's running queries, served on 127.0.0.1 */
export { createLiveView } from './ui/index.js';
export type { LiveView, LiveViewOptions } from './ui/index.js';

/* Machines */
export { queryMachineFor } from './executor.js';
export type { QueryContext, QueryMachine, QueryMachineEvent, QueryMachineInput } from './executor.js';

/* Time */
export { createVirtualClock, systemClock } from './execution/clock.js';
export type { Clock, VirtualClock } from './execution/clock.js';

/* Access control */
export { checkAccess } from './access/index.js';
export type { Authorize, AuthorizeAnswer, AuthorizeRequest, FragmentAccess } from './access/index.js';

/* Errors */
export { TributaryError, FragmentError, ERROR_CODES, errorCodes, isTributaryError } from './errors.js';
export type { ErrorCode, ErrorIssue } from './errors.js';
