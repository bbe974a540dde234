import { z } from 'zod';
import type { CacheStore } from './cache/index.js';
import { TributaryError } from './errors.js';
import { planLimitsSchema } from './plan/limits.js';
import { formatPath } from './plan/refs.js';
import { flattenIssues } from './zod-issues.js';
import { quotaOptionsSchema } from './quotas.js';
import { remoteOptionsSchema } from './remote/executor-remote.js';
import { telemetryOptionsSchema } from './progress/telemetry.js';
import { hedgeOptionsSchema, retryOptionsSchema, timerMsSchema } from './plan/schema.js';
import type { SourceExecutor } from './sources/source.js';
import type { Clock } from './execution/clock.js';
import type { Authorize } from './access/index.js';
import { RUN_STORE_METHODS, type RunStore } from './durable/run-store.js';
import { sourceLaneSchema } from './sources/lane-options.js';
import { sourceBoundSchema } from './sources/options.js';

/** A source executor, checked by shape (any object with `execute` and a zod `querySchema`). */
export const sourceExecutorSchema = z.custom<SourceExecutor>(
  (value) =>
    typeof value === 'object' &&
    value !== null &&
    typeof (value as SourceExecutor).execute === 'function' &&
    typeof (value as SourceExecutor).querySchema?.safeParse === 'function',
  { message: 'a source is an object with execute(query, ctx) and a zod querySchema' },
);

/** A source's own load-shedding bounds (`maxQueued`, `maxQueueMs` on the source object), checked at registration. */
export { sourceLaneSchema } from './sources/lane-options.js';

/**
 * Throws CONFIG_INVALID unless `source` may be registered as `name`: a non-empty string
 * name, an object that is a SourceExecutor, and valid load-shedding bounds of its own.
 */
export function checkSourceRegistration(name: unknown, source: SourceExecutor, hasRemote = false): asserts name is string {
  if (typeof name !== 'string' || name === '') {
    const message = `a source's name is a non-empty string, not ${name === '' ? 'an empty one' : name === null || name === undefined ? String(name) : `a ${typeof name}`}`;
    throw new TributaryError('CONFIG_INVALID', message, { issues: [{ path: 'name', message }] });
  }
  if (!sourceExecutorSchema.safeParse(source).success) {
    throw new TributaryError('CONFIG_INVALID', `source "${name}" is not a SourceExecutor`, { issues: [{ path: `sources.${name}`, message: 'expected execute(query, ctx) and a zod querySchema' }] });
  }
  const lane = sourceLaneSchema.safeParse({ maxQueued: source.maxQueued, maxQueueMs: source.maxQueueMs, remote: source.remote });
  const noWorkers = lane.success && lane.data.remote === true && !hasRemote;
  if (!lane.success || noWorkers) {
    const issues = lane.success
      ? [{ path: `sources.${name}.remote`, message: 'remote: true runs the calls on BullMQ workers, but the executor has no remote option ({ connection, queue })' }]
      : lane.error.issues.map((i) => ({ path: `sources.${name}.${i.path.join('.')}`, message: i.message }));
    throw new TributaryError('CONFIG_INVALID', `source "${name}": ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`, { issues });
  }
}

/** A cache store (`redisStore()` or your own `CacheStore`), checked by shape. */
const cacheStoreSchema = z.custom<CacheStore>(
  (value) =>
    typeof value === 'object' &&
    value !== null &&
    ['get', 'set', 'invalidate', 'close'].every((m) => typeof (value as Record<string, unknown>)[m] === 'function'),
  { message: 'a cache store is an object with get, set, invalidate and close (e.g. redisStore({ url }))' },
);

/** The result cache's options; `false` turns caching off. */
export const cacheOptionsSchema = z.union([
  z.literal(false),
  z.strictObject({
    maxEntries: z.number().int().positive().default(1000),
    maxBytes: z.number().int().positive().default(64 * 2 ** 20),
    /** An entry's time to live; a plan or fragment may override it. 0 caches nothing (as `cache: false`). */
    ttlMs: z.number().int().nonnegative().default(60_000),
    /** An optional shared second level (e.g. `redisStore({ url })`); the LRU stays the first. */
    store: cacheStoreSchema.optional(),
  }),
]);

/** A clock (see `Clock`), checked by shape. */
const clockSchema = z.custom<Clock>(
  (value) =>
    typeof value === 'object' &&
    value !== null &&
    ['now', 'setTimeout', 'clearTimeout'].every((m) => typeof (value as Record<string, unknown>)[m] === 'function'),
  { message: 'a clock is an object with now(), setTimeout(fn, ms) and clearTimeout(handle) (e.g. createVirtualClock())' },
);

/** A run store (`sqliteRunStore()`, `redisRunStore()` or your own `RunStore`), checked by shape. */
const runStoreSchema = z.custom<RunStore>(
  (value) => typeof value === 'object' && value !== null && RUN_STORE_METHODS.every((m) => typeof (value as Record<string, unknown>)[m] === 'function'),
  { message: `a run store is an object with ${RUN_STORE_METHODS.join(', ')} (e.g. sqliteRunStore({ file }))` },
);

/** The access rule (see `Authorize`), checked to be a function. */
const authorizeSchema = z.custom<Authorize>((value) => typeof value === 'function', { message: 'authorize is a function (principal, { source, fragment, plan }) => boolean | string | Promise<boolean | string>' });

const inspectSchema = z.custom<unknown>(
  (value) => typeof value === 'function' || (typeof value === 'object' && value !== null && typeof (value as { next?: unknown }).next === 'function'),
  { message: 'inspect is an observer function or an object with next(event)' },
);

/**
 * `adaptiveConcurrency`: `true` for the defaults, or the bounds of each source lane's
 * adaptive limit (a Vegas limit, see src/execution/adaptive-limit.ts); `false` (default):
 * fixed lanes of each source's `maxConcurrency`.
 */
export const adaptiveConcurrencySchema = z
  .union([
    z.boolean(),
    z
      .strictObject({
        min: z.number().int().positive().default(1),
        /** Default: the source's `maxConcurrency`, else 200. */
        max: z.number().int().positive().optional(),
        initial: z.number().int().positive().default(4),
        backoffRatio: z.number().gt(0).lt(1).default(0.9),
        probeMultiplier: z.number().int().positive().default(30),
      })
      .refine((o) => o.max === undefined || o.min <= o.max, { message: 'min must not exceed max', path: ['min'] }),
  ])
  .default(false);

/**
 * `createExecutor` options. Every option has a default; a partial nested object (e.g.
 * `retry: { attempts: 1 }`) is merged with the defaults.
 */
export const executorOptionsSchema = z.strictObject({
  sources: z.record(z.string().min(1), sourceExecutorSchema).default({}),
  /** Global cap on source calls running at once, over all queries. */
  concurrency: z.number().int().positive().default(16),
  retry: retryOptionsSchema.default({}),
  /** Per-attempt timeout; a plan or fragment may override. */
  timeoutMs: z.number().int().positive().default(10_000),
  cache: cacheOptionsSchema.optional().transform((c) => (c === undefined ? cacheOptionsSchema.parse({}) : c)),
  inspect: inspectSchema.optional(),
  /** Where timeouts, deadlines, retry delays, circuit cool-downs, quota windows and cache TTLs read time. */
  clock: clockSchema.optional(),
  /** OpenTelemetry spans per query, fragment attempt and merge; `false` turns them off. */
  telemetry: telemetryOptionsSchema,
  /** Each query's deadline, merge included, unless the plan or the run sets one; none by default. */
  deadlineMs: timerMsSchema.optional(),
  /** Each fragment's overall deadline (all attempts and backoff), unless the plan or fragment sets one; none by default. */
  fragmentDeadlineMs: timerMsSchema.optional(),
  /** Per-source retry budget (a token bucket); `false` turns it off. */
  retryBudget: z
    .union([
      z.literal(false),
      z.strictObject({
        capacity: z.number().int().positive().default(500),
        retryCost: z.number().int().positive().default(5),
        timeoutRetryCost: z.number().int().positive().default(10),
        successReward: z.number().int().nonnegative().default(1),
      }),
    ])
    .default({ capacity: 500, retryCost: 5, timeoutRetryCost: 10, successReward: 1 }),
  /**
   * Per-source circuit breaker, opt-in (`{}` for the defaults: 5 consecutive failures,
   * 10 s open). Off by default because an open circuit changes what unrelated queries on the
   * same source see — a fast SOURCE_UNAVAILABLE instead of the source's own error — which an
   * application should choose knowingly.
   */
  circuitBreaker: z
    .union([
      z.literal(false),
      z.strictObject({
        failureThreshold: z.number().int().positive().default(5),
        resetTimeoutMs: z.number().int().nonnegative().default(10_000),
      }),
    ])
    .default(false),
  /** Per-principal quotas: running queries, fragments a minute, rows and bytes a query. */
  quotas: quotaOptionsSchema.default({}),
  /** Plan size limits (fragments, depth, merge nodes, nesting, bytes). */
  limits: planLimitsSchema.default(planLimitsSchema.parse({})),
  /**
   * Row and byte bounds per fragment (all its batches together); a plan's `limits` may tighten
   * them, never loosen them, and a source's own `maxRows` / `maxBytes` tighten them too. A
   * `maxBytes` here replaces the default byte bound (64 MiB) of the sources that set none;
   * `Infinity` / `null` lifts it. `maxResultRows` / `maxResultBytes` bound each merge step's
   * output instead (a join's, a union's, …; default 256 MiB of estimated bytes, no row bound).
   */
  rowLimits: z
    .strictObject({ maxRows: sourceBoundSchema, maxBytes: sourceBoundSchema, maxResultRows: sourceBoundSchema, maxResultBytes: sourceBoundSchema })
    .prefault({}),
  /**
   * Who may run what: asked for every fragment of a run before any source is called; a
   * refusal (false or a reason) refuses the whole run with FORBIDDEN. See README "Access control".
   */
  authorize: authorizeSchema.optional(),
  /** Run source calls as BullMQ jobs on worker processes (`createWorker`); see README "Scaling out". */
  remote: remoteOptionsSchema.optional(),
  /** Each source lane adapts its limit to the latency and overload it sees; see README "Adaptive concurrency". */
  adaptiveConcurrency: adaptiveConcurrencySchema,
  /** Hedged requests for every read; a plan or fragment may override. See README "Hedged requests". */
  hedge: hedgeOptionsSchema.default(false),
  /** Most calls waiting for a source's lane (a source's own `maxQueued` wins); more are shed as SOURCE_UNAVAILABLE. */
  maxQueued: z.number().int().nonnegative().optional(),
  /** Longest wait for a source's lane, in ms on the executor's clock (a source's own `maxQueueMs` wins). */
  maxQueueMs: timerMsSchema.optional(),
  /** Where runs with a `runId` are stored, to be resumed (`executor.resume`); see README "Durable runs". */
  runStore: runStoreSchema.optional(),
  /** How long a durable run's lease lasts without renewal (it is renewed every third of it while the run lives). */
  runLeaseMs: z.number().int().min(100).default(30_000),
});

export type ExecutorOptions = z.input<typeof executorOptionsSchema>;
export type ResolvedExecutorOptions = z.output<typeof executorOptionsSchema>;
export type CacheOptions = Exclude<z.output<typeof cacheOptionsSchema>, false>;
/** `createExecutor({ adaptiveConcurrency })` as written: `true`, `false`, or the limit's bounds. */
export type AdaptiveConcurrencyOptions = z.input<typeof adaptiveConcurrencySchema>;

/**
 * Validates executor options, throwing `CONFIG_INVALID` with the path of each problem.
 * Leaving them out means every default; `null` or any other non-object is a mistake.
 */
export function parseExecutorOptions(options: unknown): ResolvedExecutorOptions {
  if (options !== undefined && (typeof options !== 'object' || options === null || Array.isArray(options))) {
    const found = options === null ? 'null' : Array.isArray(options) ? 'an array' : `a ${typeof options}`;
    const message = `createExecutor takes an options object (or nothing, for the defaults), not ${found}`;
    throw new TributaryError('CONFIG_INVALID', `invalid executor options: ${message}`, { issues: [{ path: '(root)', message }] });
  }
  const parsed = executorOptionsSchema.safeParse(options ?? {});
  if (parsed.success) {
    // zod builds the record by assignment, so a source named `__proto__` (an own key, as
    // JSON.parse makes it) would set the record's prototype and vanish. The caller's own
    // entries, each checked above, are copied as own keys instead.
    const given = (options as { sources?: object } | undefined)?.sources;
    if (given) parsed.data.sources = Object.fromEntries(Object.entries(given)) as typeof parsed.data.sources;
    return parsed.data;
  }
  const issues = flattenIssues(parsed.error.issues).map((i) => ({ path: formatPath('', i.path) || '(root)', message: i.message }));
  throw new TributaryError('CONFIG_INVALID', `invalid executor options: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`, { issues });
}
