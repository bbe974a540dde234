import { z } from 'zod';
import { TributaryError } from '../errors.js';
import { flattenIssues } from '../zod-issues.js';

/** Validates connector options, throwing CONFIG_INVALID with one issue per problem. */
export function parseSourceOptions<S extends z.ZodType>(kind: string, schema: S, options: unknown): z.output<S> {
  const parsed = schema.safeParse(options ?? {});
  if (parsed.success) return parsed.data;
  const issues = flattenIssues(parsed.error.issues).map((issue) => ({
    path: ['options', ...issue.path.map(String)].join('.'),
    message: issue.message,
  }));
  const detail = issues.map((i) => `${i.path}: ${i.message}`).join('; ');
  throw new TributaryError('CONFIG_INVALID', `invalid ${kind}Source options: ${detail}`, { issues });
}

/**
 * A connector's `maxRows` / `maxBytes`: a positive integer, or `Infinity` / `null` for no
 * bound (which lifts the default byte bound, `DEFAULT_FRAGMENT_MAX_BYTES`, for this source).
 */
export const sourceBoundSchema = z
  .union([z.number().int().positive(), z.literal(Infinity), z.null()], { error: 'expected a positive integer, or Infinity / null for no bound' })
  .optional()
  .transform((v) => (v === null ? Infinity : v));

/** The bounds a connector declares as `SourceExecutor.limits`: only those it was given. */
export function declaredLimits(options: { maxRows?: number | undefined; maxBytes?: number | undefined }): { maxRows?: number; maxBytes?: number } {
  const { maxRows, maxBytes } = options;
  return { ...(maxRows === undefined ? {} : { maxRows }), ...(maxBytes === undefined ? {} : { maxBytes }) };
}
