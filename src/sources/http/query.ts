import { z } from 'zod';
import { fromRefSchema, paramRefSchema, scalarSchema } from '../../plan/schema.js';
import { isJsonPointer } from './pointer.js';
import { ownRecord } from '../../zod-own-record.js';

/**
 * The native query of httpSource, as a strict zod schema. Any pathParams or searchParams
 * value may be a `$from` / `$param` reference; at execute time it arrives resolved (a
 * `$from` as an array of values, a "bound list").
 */

/** A value that may be bound: a scalar, a literal list, or a reference resolved at run time. */
export const httpValueSchema = z.union([scalarSchema, z.array(scalarSchema), fromRefSchema, paramRefSchema]);

/** An HTTP header name (an RFC 9110 token) and a value without control characters, in Latin-1. */
export const headerNameSchema = z.string().regex(/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/, 'not a valid header name');
/**
 * Headers fetch manages itself: it refuses to send the first four (every call would fail as
 * "could not be reached") and puts its own value in place of the last two.
 */
const FETCH_OWN_HEADERS = new Set(['transfer-encoding', 'keep-alive', 'upgrade', 'expect', 'host', 'content-length']);
export const headersSchema = ownRecord(
  headerNameSchema,
  z
    .string()
    // eslint-disable-next-line no-control-regex -- rejecting control characters is the point
    .regex(/^[^\x00-\x08\x0a-\x1f\x7f]*$/, 'a header value may not contain control characters')
    // fetch sends header values as bytes: anything past U+00FF would fail every request with a TypeError.
    .regex(/^[^\u0100-\uffff]*$/, 'a header value may hold only Latin-1 characters (U+0000–U+00FF); percent-encode others'),
).superRefine((headers, ctx) => {
  // Checked here rather than on the key, where zod would report only "Invalid key in record".
  for (const name of Object.keys(headers)) {
    if (FETCH_OWN_HEADERS.has(name.toLowerCase())) ctx.addIssue({ code: 'custom', path: [name], message: `fetch sets ${name} itself (or refuses it); it cannot be given` });
  }
});

const pointerSchema = z.string().refine(isJsonPointer, 'must be an RFC 6901 JSON pointer such as "/data/items"');
const paramName = z.string().min(1);
const maxPages = z.number().int().positive().optional();

/** Pagination styles; each loop is bounded by maxPages (see http-paginate.ts). */
export const paginateSchema = z.discriminatedUnion('type', [
  /** Follows the cursor at `cursor` (a JSON pointer into each body) in search param `param`. */
  z.strictObject({ type: z.literal('cursor'), cursor: pointerSchema, param: paramName, maxPages }),
  /** Counts `param` up from `start` (default 1) until a page comes back empty. */
  z.strictObject({
    type: z.literal('page'),
    param: paramName,
    start: z.number().int().nonnegative().optional(),
    size: z.strictObject({ param: paramName, value: z.number().int().positive() }).optional(),
    maxPages,
  }),
  /** Moves `param` from 0 by the rows received until fewer than `limit` come back. */
  z.strictObject({
    type: z.literal('offset'),
    param: paramName,
    limitParam: paramName,
    limit: z.number().int().positive(),
    maxPages,
  }),
  /** Follows `Link: <…>; rel="next"`, on the same origin only. */
  z.strictObject({ type: z.literal('link'), maxPages }),
]);
export type HttpPaginate = z.infer<typeof paginateSchema>;

/** `{name}` placeholders in a path template. */
export const PLACEHOLDER = /\{([A-Za-z_][A-Za-z0-9_]*)\}/g;
/** A `.` or `..` segment, also percent-spelled: the URL parser resolves those and climbs the path. */
export const DOT_SEGMENT = /(?:^|\/)(?:\.|%2e){1,2}(?:\/|$)/i;

const httpQueryObject = z.strictObject({
  method: z.enum(['GET', 'POST']).optional(),
  path: z
    .string()
    .startsWith('/', 'path must start with "/" (it is appended to the baseUrl)')
    .refine((p) => !/[?#]/.test(p), 'path may not contain "?" or "#": put query values in searchParams')
    .refine((p) => !DOT_SEGMENT.test(p), 'path may not contain "." or ".." segments')
    // The URL parser reads "\\" as "/" and drops tabs and line breaks: "/x\\..\\admin" or
    // "/.\t./admin" would climb out of the baseUrl's path, past the dot-segment check.
    // eslint-disable-next-line no-control-regex -- refusing control characters is the point
    .refine((p) => !/[\\\x00-\x20\x7f]/.test(p), 'path may not contain "\\", spaces or control characters: percent-encode them')
    .refine((p) => !/[{}]/.test(p.replace(PLACEHOLDER, '')), 'path has a "{" or "}" that is not a {name} placeholder'),
  pathParams: ownRecord(z.string(), httpValueSchema).optional(),
  searchParams: ownRecord(z.string(), httpValueSchema).optional(),
  body: z.unknown().optional(),
  headers: headersSchema.optional(),
  rows: pointerSchema.optional(),
  paginate: paginateSchema.optional(),
  list: z.enum(['each', 'comma']).optional(),
});

/** The native query of httpSource, with cross-field checks (placeholders, body, paginate). */
export const httpQuerySchema = httpQueryObject.superRefine((query, ctx) => {
  const placeholders = new Set([...query.path.matchAll(PLACEHOLDER)].map((m) => m[1] ?? ''));
  const given = Object.keys(query.pathParams ?? {});
  for (const name of placeholders) {
    if (!given.includes(name)) {
      ctx.addIssue({ code: 'custom', path: ['pathParams', name], message: `path placeholder {${name}} has no value in pathParams` });
    }
  }
  for (const name of given) {
    if (!placeholders.has(name)) {
      ctx.addIssue({ code: 'custom', path: ['pathParams', name], message: `pathParams.${name} matches no {${name}} in path` });
    }
  }
  if (query.body !== undefined && query.method !== 'POST') {
    ctx.addIssue({ code: 'custom', path: ['body'], message: 'a body needs method "POST"' });
  }
  const paging = query.paginate;
  if (paging !== undefined && paging.type !== 'link') {
    const owned = [paging.param];
    if (paging.type === 'page' && paging.size) owned.push(paging.size.param);
    if (paging.type === 'offset') owned.push(paging.limitParam);
    for (const name of owned) {
      if (query.searchParams && Object.hasOwn(query.searchParams, name)) {
        ctx.addIssue({ code: 'custom', path: ['searchParams', name], message: `searchParams.${name} is set by paginate` });
      }
    }
  }
});

/** A query as written in a plan. */
export type HttpQuery = z.infer<typeof httpQuerySchema>;
