import { z } from 'zod';
import { TributaryError } from '../errors.js';
import { timerMsSchema } from '../plan/schema.js';
import { formatPath } from '../plan/refs.js';
import { isPlainRow } from '../data/row.js';
import { checkPrincipal } from '../access/index.js';
import { ownCopy } from '../plan/own-copy.js';
import { valueShapeProblem } from '../plan/value-shape.js';
import type { Principal } from '../sources/source.js';
import type { RunOptions } from './types.js';

/**
 * The run options zod checks (the others are objects the caller builds: a signal, a
 * principal, parameters checked against the plan). Unknown keys pass: `run()` options are
 * an open bag other features add to.
 */
export const runOptionsSchema = z.object({
  /** The whole query's deadline, merge included; overrides the plan's and the executor's. */
  deadlineMs: timerMsSchema.optional(),
});

/** Throws CONFIG_INVALID unless `options` is an options object (`call` takes one, or nothing). */
export function checkOptionsObject(options: unknown, what: string, call: string): asserts options is object {
  if (typeof options === 'object' && options !== null && !Array.isArray(options)) return;
  const found = options === null ? 'null' : Array.isArray(options) ? 'an array' : `a ${typeof options}`;
  const message = `${call} takes an options object (or nothing), not ${found}`;
  throw new TributaryError('CONFIG_INVALID', `invalid ${what}: (root): ${message}`, { issues: [{ path: '(root)', message }] });
}

function invalid(path: string, message: string): TributaryError {
  return new TributaryError('CONFIG_INVALID', `invalid run options: ${path}: ${message}`, { issues: [{ path, message }] });
}

/** An AbortSignal, or one of another realm or polyfill that behaves as one. */
const isAbortSignal = (value: unknown): boolean =>
  value instanceof AbortSignal ||
  (typeof value === 'object' && value !== null && typeof (value as AbortSignal).aborted === 'boolean' && typeof (value as AbortSignal).addEventListener === 'function');

/**
 * Throws CONFIG_INVALID, naming the option, when `run()`'s options are malformed: not an
 * object, a `signal` that is not an AbortSignal, a `principal` without a string id (which
 * would otherwise run as the anonymous caller and share its cache), `params` that are not
 * an object of named values, a bad `deadlineMs`. A few `typeof`s for a run that passes.
 */
export function checkRunOptions(options: unknown): asserts options is RunOptions {
  checkOptionsObject(options, 'run options', 'run(plan, options)');
  const { signal, principal, params, deadlineMs } = options as Record<string, unknown>;
  if (signal !== undefined && !isAbortSignal(signal)) throw invalid('signal', 'expected an AbortSignal');
  if (principal !== undefined) checkPrincipal(principal, 'principal', 'run options');
  if (params !== undefined && (typeof params !== 'object' || params === null || Array.isArray(params))) {
    throw invalid('params', 'expected an object of named values, { name: value }, for the plan\'s { "$param": name }');
  }
  checkRecord((options as Record<string, unknown>).record);
  if (deadlineMs === undefined) return;
  const parsed = runOptionsSchema.safeParse({ deadlineMs });
  if (parsed.success) return;
  const issues = parsed.error.issues.map((i) => ({ path: formatPath('', i.path) || '(root)', message: i.message }));
  throw new TributaryError('CONFIG_INVALID', `invalid run options: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`, { issues });
}

/** `record`: a boolean, or `{ redact?: false | (text) => string }`. */
function checkRecord(record: unknown): void {
  if (record === undefined || typeof record === 'boolean') return;
  const message = 'expected true, false or { redact?: false | (text: string) => string }';
  if (typeof record !== 'object' || record === null || Array.isArray(record)) throw invalid('record', message);
  for (const [key, value] of Object.entries(record)) {
    if (key !== 'redact') throw invalid(`record.${key}`, `unknown option; ${message}`);
    if (value !== undefined && value !== false && typeof value !== 'function') throw invalid('record.redact', message);
  }
}

/**
 * The run's own params and principal, as they were when it started: a caller that reuses
 * one object for the next request cannot change what this run's later levels bind, which
 * cache scope they read, or whom a source queries as. A principal that is not a plain object
 * (a class instance, whose methods may need its own fields) is kept as it is. (The params the
 * plan uses are copied whole once checked: `checkRunParams`.)
 */
export function ownRunOptions(options: RunOptions): RunOptions {
  const { params, principal } = options;
  if (!params && !principal) return options;
  const own: RunOptions = { ...options };
  if (params) own.params = { ...params };
  if (principal && isPlainRow(principal)) own.principal = ownClaims(principal);
  return own;
}

/** Bounds on the claims copied whole: far past any login's, and a walk of microseconds. */
const CLAIMS_SHAPE = { maxNesting: 32, maxContainers: 10_000 };

/**
 * A principal's copy with its claims copied whole (`ownCopy`: arrays, plain objects, dates,
 * bytes), so a role list the caller changes afterwards is not what a running query's sources
 * see; claims past the bounds or holding a cycle, or a principal with its own `toJSON`, are
 * copied at the top level only.
 */
function ownClaims(principal: Principal): Principal {
  const own = valueShapeProblem(principal, CLAIMS_SHAPE, () => undefined) === undefined ? ownCopy(principal) : principal;
  // One that says how it serializes (its own `toJSON`) is one value to ownCopy: its top level still is the run's.
  return own === principal ? { ...principal } : own;
}
