import { z } from 'zod';
import { fromRefSchema, paramRefSchema } from '../../plan/schema.js';

/** The native query of the SQL connectors: `{ sql, params? }`, with the driver's own placeholders. */

const referenceSchema = z.union([fromRefSchema, paramRefSchema]);

/**
 * One entry of `params`: any value, but an object that looks like a reference (`$from` or
 * `$param` key) must be a well-formed one, so a typo fails validation instead of being sent.
 */
export const sqlParamSchema = z.unknown().superRefine((value, ctx) => {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return;
  if (!('$from' in value) && !('$param' in value)) return;
  if (referenceSchema.safeParse(value).success) return;
  ctx.addIssue({
    code: 'custom',
    message: 'a reference is { "$from": fragmentId, "column": name } or { "$param": name }',
  });
});

/**
 * `{ sql, params? }`: the native query of a SQL source, with the driver's own placeholders
 * (`$1` for PostgreSQL, `?` for MySQL). At execute time the connector sends `ctx.params`
 * (the same list with references resolved), never `query.params`.
 */
export const sqlQuerySchema = z.strictObject({
  sql: z.string().min(1).refine((s) => /\S/.test(s), 'sql must not be blank'),
  params: z.array(sqlParamSchema).optional(),
});
export type SqlQuery = z.infer<typeof sqlQuerySchema>;
