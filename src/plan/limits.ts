import { z } from 'zod';

const DEFAULT_MAX_FRAGMENTS = 1000;
const DEFAULT_MAX_MERGE_NODES = 1000;
const DEFAULT_MAX_PLAN_BYTES = 1024 * 1024;

/**
 * Bounds on a plan's size, checked before anything runs. They keep a hostile or mistaken
 * plan from exhausting memory or the stack; raise them for big generated plans. Two follow
 * `maxFragments` unless set: a plan of more fragments needs a merge tree with a leaf per
 * fragment and more JSON, so raising `maxFragments` above its default alone is enough to
 * run such a plan (`maxMergeNodes` becomes `maxFragments + 1000`, `maxPlanBytes`
 * `maxFragments` KiB, each at least its default).
 */
export const planLimitsSchema = z
  .strictObject({
    /** Most fragments in one plan. */
    maxFragments: z.number().int().positive().default(DEFAULT_MAX_FRAGMENTS),
    /** Most dependency levels (the longest chain of `dependsOn`). */
    maxDepth: z.number().int().positive().default(100),
    /** Most nodes (operators and leaves) in the merge tree; by default 1000, or `maxFragments + 1000` past 1000 fragments. */
    maxMergeNodes: z.number().int().positive().optional(),
    /** Deepest nesting of objects and arrays anywhere in the plan's JSON. */
    maxNesting: z.number().int().positive().default(128),
    /** Largest plan as serialized JSON, in bytes; by default 1 MiB, or 1 KiB per fragment of `maxFragments` past 1000. */
    maxPlanBytes: z.number().int().positive().optional(),
    /**
     * The longest per-attempt `timeoutMs` a plan or fragment may ask for (the executor's own
     * `timeoutMs` is not bound by it). Default: none.
     */
    maxTimeoutMs: z.number().int().positive().optional(),
    /** The longest `deadlineMs` / `fragmentDeadlineMs` a plan, and `deadlineMs` a fragment, may ask for. Default: none. */
    maxDeadlineMs: z.number().int().positive().optional(),
    /** The most `retry.attempts` a plan or fragment may ask for. Default: none (the schema's 100). */
    maxAttempts: z.number().int().positive().optional(),
    /**
     * The longest `retry.initialDelayMs` / `retry.maxDelayMs` a plan or fragment may ask for, so
     * no backoff it asks for waits longer (a server's `Retry-After` is the server's word). Default: none.
     */
    maxRetryDelayMs: z.number().int().nonnegative().optional(),
    /** The longest `cache.ttlMs` a plan or fragment may ask for its rows to be kept. Default: none. */
    maxCacheTtlMs: z.number().int().nonnegative().optional(),
    /**
     * The most `hedge.maxExtraRatio` a plan or fragment may ask for (a `hedge` without it asks
     * for the default 0.1); 0: a plan may not hedge. Default: none (the schema's 1).
     */
    maxHedgeRatio: z.number().min(0).max(1).optional(),
    /**
     * False: a plan or fragment may not say `hedge: { idempotent: true }` (that its calls are
     * safe to run twice where the source cannot tell they only read), so a plan cannot get a
     * write hedged. Default: true (the executor's own `hedge` is not bound by it).
     */
    allowIdempotentHedge: z.boolean().optional(),
    /**
     * False: a plan or fragment may not say `retry: { idempotent: true }` (that its calls may be
     * retried even where the source says they write), so a plan cannot get a write run twice by
     * a retry. Default: true (the executor's own `retry` is not bound by it).
     */
    allowIdempotentRetry: z.boolean().optional(),
  })
  .transform((limits) => {
    const raised = limits.maxFragments > DEFAULT_MAX_FRAGMENTS;
    return {
      ...limits,
      maxMergeNodes: limits.maxMergeNodes ?? (raised ? limits.maxFragments + DEFAULT_MAX_MERGE_NODES : DEFAULT_MAX_MERGE_NODES),
      maxPlanBytes: limits.maxPlanBytes ?? (raised ? Math.max(DEFAULT_MAX_PLAN_BYTES, limits.maxFragments * 1024) : DEFAULT_MAX_PLAN_BYTES),
    };
  });

export type PlanLimits = z.output<typeof planLimitsSchema>;
export type PlanLimitsInput = z.input<typeof planLimitsSchema>;

export const defaultPlanLimits: PlanLimits = planLimitsSchema.parse({});
