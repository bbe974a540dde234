import { z } from 'zod';

/**
 * The plan format of DESIGN.md as zod schemas: the single source of truth for the plan's
 * types (derived with `z.infer`). Objects are strict: an unknown key is an error, so a typo
 * in a plan is caught before anything runs.
 */

/** A literal value in a predicate or a parameter list. */
export const scalarSchema = z.union([z.string(), z.number(), z.boolean(), z.null()]);
export type Scalar = z.infer<typeof scalarSchema>;

/** `{ "$from": "customers", "column": "id" }`: the distinct non-null values of an upstream column. */
export const fromRefSchema = z.strictObject({
  $from: z.string().min(1),
  column: z.string().min(1),
});
export type FromRef = z.infer<typeof fromRefSchema>;

/** `{ "$param": "region" }`: a value passed at run time with `run(plan, { params })`. */
export const paramRefSchema = z.strictObject({ $param: z.string().min(1) });
export type ParamRef = z.infer<typeof paramRefSchema>;

export const predicateValueSchema = z.union([scalarSchema, fromRefSchema, paramRefSchema]);
export type PredicateValue = z.infer<typeof predicateValueSchema>;

const comparison = z.tuple([z.string().min(1), predicateValueSchema]);
const list = z.union([z.array(predicateValueSchema), fromRefSchema, paramRefSchema]);

/** A small predicate tree, evaluated without eval; SQL null semantics. */
export type Predicate =
  | { eq: [string, PredicateValue] }
  | { ne: [string, PredicateValue] }
  | { lt: [string, PredicateValue] }
  | { le: [string, PredicateValue] }
  | { gt: [string, PredicateValue] }
  | { ge: [string, PredicateValue] }
  | { in: [string, PredicateValue[] | FromRef | ParamRef] }
  | { isNull: string }
  | { and: Predicate[] }
  | { or: Predicate[] }
  | { not: Predicate };

export const predicateSchema: z.ZodType<Predicate> = z.lazy(() =>
  z.union([
    z.strictObject({ eq: comparison }),
    z.strictObject({ ne: comparison }),
    z.strictObject({ lt: comparison }),
    z.strictObject({ le: comparison }),
    z.strictObject({ gt: comparison }),
    z.strictObject({ ge: comparison }),
    z.strictObject({ in: z.tuple([z.string().min(1), list]) }),
    z.strictObject({ isNull: z.string().min(1) }),
    z.strictObject({ and: z.array(predicateSchema).min(1) }),
    z.strictObject({ or: z.array(predicateSchema).min(1) }),
    z.strictObject({ not: predicateSchema }),
  ]),
) as z.ZodType<Predicate>;

// ---------------------------------------------------------------- merge tree

export type MergeNode =
  | string
  | { op: 'union'; inputs: MergeNode[]; distinct?: boolean }
  | {
      op: 'join';
      type: 'inner' | 'left' | 'semi' | 'anti';
      left: MergeNode;
      right: MergeNode;
      on: [string, string][];
      /** The right side's name in the output: qualifies its columns that clash with left ones. */
      rightAs?: string;
    }
  | { op: 'nest'; parent: MergeNode; child: MergeNode; on: [string, string][]; as: string }
  | { op: 'project'; input: MergeNode; columns: (string | { column: string; as: string })[] }
  | { op: 'filter'; input: MergeNode; where: Predicate }
  | {
      op: 'aggregate';
      input: MergeNode;
      groupBy?: string[];
      aggregates: { fn: 'count' | 'sum' | 'min' | 'max' | 'avg'; column?: string; as: string }[];
    }
  | { op: 'sort'; input: MergeNode; by: { column: string; desc?: boolean; nulls?: 'first' | 'last' }[] }
  | { op: 'limit'; input: MergeNode; n: number; offset?: number };

export type MergeOp = Exclude<MergeNode, string>['op'];

/** What to do about a join's right column whose qualified name is taken too. */
export const RENAME_HINT = 'name the right side with "rightAs" (its clashing columns become "<rightAs>.<column>"), or rename them in a project';

/**
 * The name a join's output gives its right side, which prefixes a right column whose name
 * is already on the left (`<name>.<column>`): its `rightAs`, else the right input's fragment
 * id, else `right` (the right input is an operator), as SQL qualifies by a table's alias.
 */
export function joinRightName(node: { right: MergeNode; rightAs?: string }): string {
  return node.rightAs ?? (typeof node.right === 'string' ? node.right : 'right');
}

const columnPairs = z.array(z.tuple([z.string().min(1), z.string().min(1)])).min(1);

export const mergeNodeSchema: z.ZodType<MergeNode> = z.lazy(() =>
  z.union([
    z.string().min(1),
    z.discriminatedUnion('op', [
      z.strictObject({
        op: z.literal('union'),
        inputs: z.array(mergeNodeSchema).min(1),
        distinct: z.boolean().optional(),
      }),
      z.strictObject({
        op: z.literal('join'),
        type: z.enum(['inner', 'left', 'semi', 'anti']),
        left: mergeNodeSchema,
        right: mergeNodeSchema,
        on: columnPairs,
        rightAs: z.string().min(1).optional(),
      }),
      z.strictObject({
        op: z.literal('nest'),
        parent: mergeNodeSchema,
        child: mergeNodeSchema,
        on: columnPairs,
        as: z.string().min(1),
      }),
      z.strictObject({
        op: z.literal('project'),
        input: mergeNodeSchema,
        columns: z
          .array(z.union([z.string().min(1), z.strictObject({ column: z.string().min(1), as: z.string().min(1) })]))
          .min(1),
      }),
      z.strictObject({ op: z.literal('filter'), input: mergeNodeSchema, where: predicateSchema }),
      z.strictObject({
        op: z.literal('aggregate'),
        input: mergeNodeSchema,
        groupBy: z.array(z.string().min(1)).optional(),
        aggregates: z
          .array(
            z.strictObject({
              fn: z.enum(['count', 'sum', 'min', 'max', 'avg']),
              column: z.string().min(1).optional(),
              as: z.string().min(1),
            }),
          )
          .min(1),
      }),
      z.strictObject({
        op: z.literal('sort'),
        input: mergeNodeSchema,
        by: z
          .array(
            z.strictObject({
              column: z.string().min(1),
              desc: z.boolean().optional(),
              nulls: z.enum(['first', 'last']).optional(),
            }),
          )
          .min(1),
      }),
      z.strictObject({
        op: z.literal('limit'),
        input: mergeNodeSchema,
        n: z.number().int().nonnegative(),
        offset: z.number().int().nonnegative().optional(),
      }),
    ]),
  ]),
) as z.ZodType<MergeNode>;

// ---------------------------------------------------------------- policies

export const jitterSchema = z.enum(['full', 'equal', 'none']);

/** Retry policy; every field optional in a plan or fragment, merged over the executor's. */
export const retryOptionsSchema = z.strictObject({
  attempts: z.number().int().min(1).max(100).optional(),
  initialDelayMs: z.number().nonnegative().max(3_600_000).optional(),
  maxDelayMs: z.number().nonnegative().max(3_600_000).optional(),
  factor: z.number().min(1).max(100).optional(),
  jitter: jitterSchema.optional(),
  /**
   * The calls are safe to run twice: retried after any retryable failure even where the source
   * says the call writes (`isReadOnly` false: a POST, an INSERT). Default false: such a call is
   * retried only when the failure shows the server never got it (see execution/retry-safety.ts).
   */
  idempotent: z.boolean().optional(),
});
export type RetryOptionsInput = z.infer<typeof retryOptionsSchema>;

/** Per-plan or per-fragment cache override; `false` or `ttlMs: 0` bypasses the cache. */
export const cacheOverrideSchema = z.union([
  z.literal(false),
  z.strictObject({
    ttlMs: z.number().int().nonnegative().optional(),
    tags: z.array(z.string().min(1)).optional(),
  }),
]);
export type CacheOverride = z.infer<typeof cacheOverrideSchema>;

export const rowLimitsSchema = z.strictObject({
  maxRows: z.number().int().positive().optional(),
  maxBytes: z.number().int().positive().optional(),
  /** Most rows one merge step may make (each only tightens the executor's `rowLimits`). */
  maxResultRows: z.number().int().positive().optional(),
  /** Most estimated bytes of one merge step's rows. */
  maxResultBytes: z.number().int().positive().optional(),
});

// ---------------------------------------------------------------- plan

/** A delay for a timer: Node fires any setTimeout beyond 2^31-1 ms after 1 ms instead. */
export const timerMsSchema = z.number().int().positive().max(2 ** 31 - 1);

/**
 * Hedged requests (see src/execution/hedge.ts): when a call has not answered after `afterMs`
 * (or the source's observed latency at `quantile`), a second call of the same statement
 * starts; the first answer wins. `false` turns hedging off for the executor, plan or fragment.
 */
export const hedgeOptionsSchema = z.union([
  z.literal(false),
  z.strictObject({
    /** Start the extra call after this many ms (with `quantile`: never earlier than this). */
    afterMs: timerMsSchema.optional(),
    /** Start it after the source's observed latency at this quantile (default 0.95 without `afterMs`). */
    quantile: z.number().gt(0).lt(1).optional(),
    /** At most this many extra calls per call of the source, over a sliding window (default 0.1). */
    maxExtraRatio: z.number().min(0).max(1).optional(),
    /** The call is safe to run twice even where the source cannot tell it is a read (a POST that reads). */
    idempotent: z.boolean().optional(),
  }),
]);
export type HedgeOptionsInput = z.infer<typeof hedgeOptionsSchema>;
/** The `hedge` option of an executor, plan or fragment. */
export type HedgeOptions = HedgeOptionsInput;

export const fragmentIdSchema = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[A-Za-z_][A-Za-z0-9_-]*$/, 'a fragment id is a letter or _ followed by letters, digits, _ or -');

export const fragmentSchema = z.strictObject({
  id: fragmentIdSchema,
  source: z.string().min(1),
  /** The source's native query; checked against that source's `querySchema`. */
  query: z.unknown(),
  dependsOn: z.array(z.string().min(1)).optional(),
  batch: z
    .strictObject({
      param: z.number().int().nonnegative(),
      size: z.number().int().positive(),
    })
    .optional(),
  timeoutMs: timerMsSchema.optional(),
  /** The fragment's overall deadline, every attempt and backoff included. */
  deadlineMs: timerMsSchema.optional(),
  retry: retryOptionsSchema.optional(),
  cache: cacheOverrideSchema.optional(),
  /**
   * May be dropped when the query's deadline (or the fragment's share of it) runs out: its
   * calls are aborted, its dependents skipped, the merge sees it empty, the query `partial`.
   */
  optional: z.boolean().optional(),
  hedge: hedgeOptionsSchema.optional(),
});
export type Fragment = z.infer<typeof fragmentSchema>;

export const planSchema = z.strictObject({
  id: z.string().min(1).max(256).optional(),
  fragments: z.array(fragmentSchema).min(1),
  merge: mergeNodeSchema.optional(),
  errorPolicy: z.enum(['fail-fast', 'partial']).optional(),
  schedule: z.enum(['levels', 'eager']).optional(),
  timeoutMs: timerMsSchema.optional(),
  /** The whole query's deadline (merge included); `run(plan, { deadlineMs })` overrides it. */
  deadlineMs: timerMsSchema.optional(),
  /** Each fragment's own deadline (all its attempts), unless the fragment sets `deadlineMs`. */
  fragmentDeadlineMs: timerMsSchema.optional(),
  retry: retryOptionsSchema.optional(),
  cache: cacheOverrideSchema.optional(),
  limits: rowLimitsSchema.optional(),
  hedge: hedgeOptionsSchema.optional(),
});

/** A plan as written (JSON or the `plan()` builder). */
export type Plan = z.infer<typeof planSchema>;
