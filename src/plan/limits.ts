import { z } from 'zod';

/**
 * Bounds on a plan's size, checked before anything runs. They keep a hostile or mistaken
 * plan from exhausting memory or the stack; raise them for big generated plans.
 */
export const planLimitsSchema = z.strictObject({
  /** Most fragments in one plan. */
  maxFragments: z.number().int().positive().default(1000),
  /** Most dependency levels (the longest chain of `dependsOn`). */
  maxDepth: z.number().int().positive().default(100),
  /** Most nodes (operators and leaves) in the merge tree. */
  maxMergeNodes: z.number().int().positive().default(1000),
  /** Deepest nesting of objects and arrays anywhere in the plan's JSON. */
  maxNesting: z.number().int().positive().default(128),
  /** Largest plan as serialized JSON, in bytes. */
  maxPlanBytes: z.number().int().positive().default(1024 * 1024),
});

export type PlanLimits = z.output<typeof planLimitsSchema>;
export type PlanLimitsInput = z.input<typeof planLimitsSchema>;

export const defaultPlanLimits: PlanLimits = planLimitsSchema.parse({});
