export { planSchema, mergeNodeSchema, predicateSchema, fragmentSchema } from './schema.js';
export type { Plan, Fragment, MergeNode, Predicate, FromRef, ParamRef, Scalar, CacheOverride, RetryOptionsInput, HedgeOptions } from './schema.js';
export { validatePlan, type ValidatedPlan, type ValidateOptions } from './validate.js';
export { levels } from './levels.js';
export { plan, from, param, PlanBuilder } from './builder.js';
export { planLimitsSchema, defaultPlanLimits, type PlanLimits, type PlanLimitsInput } from './limits.js';
export { mergeLeaves } from './graph.js';
export { nonJsonKind } from './json-value.js';
export { findRefs, isFromRef, isParamRef, replaceAt, formatPath, type FoundRef } from './refs.js';
