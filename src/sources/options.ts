import type { z } from 'zod';
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
