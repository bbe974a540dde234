import { z } from 'zod';
import { TributaryError } from '../errors.js';
import { timerMsSchema } from '../plan/schema.js';
import { formatPath } from '../plan/refs.js';
import { isPlainRow } from '../data/row.js';
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

/** Throws CONFIG_INVALID, naming the option, when a checked run option is malformed. */
export function checkRunOptions(options: { deadlineMs?: unknown }): void {
  // Only when a checked option is given: a run without one pays nothing.
  if (options.deadlineMs === undefined) return;
  const parsed = runOptionsSchema.safeParse({ deadlineMs: options.deadlineMs });
  if (parsed.success) return;
  const issues = parsed.error.issues.map((i) => ({ path: formatPath('', i.path) || '(root)', message: i.message }));
  throw new TributaryError('CONFIG_INVALID', `invalid run options: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`, { issues });
}

/**
 * The run's own params and principal, as they were when it started: a caller that reuses
 * one object for the next request cannot change what this run's later levels bind, which
 * cache scope they read, or whom a source queries as. A principal that is not a plain object
 * (a class instance, whose methods may need its own fields) is kept as it is.
 */
export function ownRunOptions(options: RunOptions): RunOptions {
  const { params, principal } = options;
  if (!params && !principal) return options;
  const own: RunOptions = { ...options };
  if (params) own.params = { ...params };
  if (principal && isPlainRow(principal)) own.principal = { ...principal };
  return own;
}
