/* The merge tree: folds fragment results into the query's result. */

/* Evaluation */
export { evaluateMerge } from './evaluate.js';
export type { EvaluateOptions } from './evaluate.js';
export { DEFAULT_RESULT_MAX_BYTES } from './result-bound.js';
export type { ResultLimits } from './result-bound.js';

/* Streaming */
export { planStream } from './stream.js';
export type { StreamPlan, StreamFlow, StreamContext } from './stream.js';

/* Predicates (also used by the in-memory source) */
export { compilePredicate } from '../data/predicate.js';
export type { ParamResolver } from '../data/predicate.js';

/* Rows */
export { columnsOf } from './relation.js';
export type { Relation, RelationResult } from './relation.js';
export { setColumn } from '../data/row.js';
