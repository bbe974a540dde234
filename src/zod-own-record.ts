import { z } from 'zod';

/**
 * `z.record(key, value)` that treats an own `__proto__` key as any other key.
 *
 * zod's record skips a `__proto__` key altogether (assigning it would replace the output's
 * prototype): its value is never checked and the parsed record lacks it. For a record of a
 * plan (an HTTP query's `searchParams`, `pathParams`, `headers`), which runs as written, that
 * let `{ "__proto__": <anything> }` past validation to fail later (or a `{__proto__}` path
 * placeholder be told it had no value). Here the key and its value are checked like the
 * others, with issues at `__proto__`, and the parsed record holds it as an own key.
 */
export function ownRecord<V extends z.ZodType>(key: z.ZodType<string>, value: V): z.ZodType<Record<string, z.output<V>>, Record<string, z.input<V>>> {
  const record = z.record(key, value);
  // Typed as the record it checks: written as a record, parsed into one.
  return z.unknown().transform((input, ctx): Record<string, z.output<V>> => {
    const parsed = record.safeParse(input);
    if (!parsed.success) for (const issue of parsed.error.issues) ctx.addIssue({ ...issue });
    if (typeof input !== 'object' || input === null || !Object.hasOwn(input, '__proto__')) return parsed.success ? parsed.data : z.NEVER;
    const keyed = key.safeParse('__proto__');
    if (!keyed.success) for (const issue of keyed.error.issues) ctx.addIssue({ ...issue, path: ['__proto__', ...issue.path] });
    const own = Object.getOwnPropertyDescriptor(input, '__proto__')?.value as unknown;
    const valued = value.safeParse(own);
    if (!valued.success) for (const issue of valued.error.issues) ctx.addIssue({ ...issue, path: ['__proto__', ...issue.path] });
    if (!parsed.success || !keyed.success || !valued.success) return z.NEVER;
    // The record's own entries in the input's order, `__proto__` among them as an own key.
    const out: Record<string, z.output<V>> = {};
    for (const name of Object.keys(input)) {
      const entry = name === '__proto__' ? (valued.data as z.output<V>) : parsed.data[name]!;
      Object.defineProperty(out, name, { value: entry, enumerable: true, writable: true, configurable: true });
    }
    return out;
  }) as unknown as z.ZodType<Record<string, z.output<V>>, Record<string, z.input<V>>>;
}
