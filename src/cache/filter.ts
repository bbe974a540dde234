import { z } from 'zod';
import { TributaryError } from '../errors.js';
import { formatPath } from '../plan/refs.js';
import type { CacheFilter } from './store.js';

/**
 * `executor.cache.invalidate(filter)`'s filter. Strict: `{}` drops every entry (here, in the
 * shared store and in every other instance), so a misspelled field (`{ sorce: 'crm' }`) must
 * not read as `{}`.
 */
const cacheFilterSchema = z.strictObject({
  source: z.string().min(1).optional(),
  tag: z.string().min(1).optional(),
  key: z.string().min(1).optional(),
});

/** The filter as given, or CONFIG_INVALID naming the field; nothing (`undefined`) is `{}`. */
export function checkCacheFilter(filter: unknown): CacheFilter {
  if (filter === undefined) return {};
  const parsed = cacheFilterSchema.safeParse(filter);
  if (parsed.success) return parsed.data;
  const issues = parsed.error.issues.map((i) => ({ path: formatPath('filter', i.path), message: i.message }));
  throw new TributaryError('CONFIG_INVALID', `invalid cache filter (nothing was invalidated): ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`, { issues });
}
