/* EXPLAIN and EXPLAIN ANALYZE: what a plan will do, and where a run spent its time. */
export { explain } from './explain.js';
export type { ExplainOptions } from './explain.js';
export { remoteRuleOf } from './remote-rule.js';
export type { RemoteOption, RemoteRule } from './remote-rule.js';
export type { PlanExplanation, FragmentExplanation, BoundInput, DependencyEdge, MergeExplanation, QueryAnalysis, FragmentTiming } from './model.js';
export { analyze } from './analyze.js';
export type { AnalyzeOptions } from './analyze.js';
export { criticalPath } from './critical-path.js';
export { querySummary } from './summary.js';
export { count } from './count.js';
/* The pictures, for pages that compose them (the live view) */
export { explainSvg, layoutExplanation, drawPlan, sourceColors } from './svg.js';
export type { PlanLayout } from './layout.js';
export type { SvgOptions } from './svg.js';
export { analyzeSvg } from './gantt-svg.js';
export { explainHtml, htmlDocument } from './html.js';
export type { HtmlOptions } from './html.js';
