/**
 * The README's TypeScript blocks, as files a type checker can read: each block becomes a module
 * of its own, with the names the README's prose assumes (an `executor`, a `plan`, `sources`, …)
 * and every public export of the package declared as globals, and `tributary-query` resolving
 * to this checkout's `src/index.ts`. A block preceded by `<!-- readme-check: skip … -->` is
 * pseudo-code (option lists with `…`, several alternatives in one block) and is left out.
 */
import { readFileSync } from 'node:fs';

export interface Snippet {
  /** The README line of the block's first line of code (1-based). */
  line: number;
  code: string;
}

const SKIP = /^<!--\s*readme-check:\s*skip\b/;

/** Every ```ts block of `markdown` that is not marked to be skipped. */
export function tsSnippets(markdown: string): Snippet[] {
  const lines = markdown.split('\n');
  const snippets: Snippet[] = [];
  for (let i = 0; i < lines.length; i++) {
    if (!/^```ts\s*$/.test(lines[i] ?? '')) continue;
    const skip = SKIP.test(lines[i - 1] ?? '');
    const start = i + 1;
    let end = start;
    while (end < lines.length && !(lines[end] ?? '').startsWith('```')) end++;
    if (!skip) snippets.push({ line: start + 1, code: lines.slice(start, end).join('\n') });
    i = end;
  }
  return snippets;
}

/** The public exports of `src/index.ts`: values and types, by name. */
export function publicExports(indexFile: string): { values: string[]; types: string[] } {
  const text = readFileSync(indexFile, 'utf8');
  const values: string[] = [];
  const types: string[] = [];
  for (const m of text.matchAll(/^export (type )?\{([^}]*)\}/gm)) {
    const names = (m[2] ?? '').split(',').map((n) => n.trim()).filter((n) => n !== '');
    (m[1] ? types : values).push(...names);
  }
  return { values, types };
}

/** The names the README's blocks use without defining them. */
const AMBIENT = `
  const executor: T.Executor;
  const plan: T.Plan;
  const plans: Record<string, T.Plan>;
  const sources: Record<string, T.SourceExecutor>;
  const result: T.QueryResult;
  const events: T.ExecutionEvent[];
  const principal: T.Principal;
  const hr: T.SourceExecutor;
  const payroll: T.SourceExecutor;
  const shop: T.SourceExecutor;
  const tables: Record<string, Record<string, unknown>[]>;
  const url: string;
  const baseUrl: string;
  function send(rows: T.Row[]): void;
`;

/** A declaration file giving every public export, and the README's ambient names, as globals. */
export function globalsFile(indexFile: string): string {
  const { values, types } = publicExports(indexFile);
  const lines = [`import type * as T from 'tributary-query';`, 'declare global {'];
  for (const v of values) lines.push(`  const ${v}: typeof import('tributary-query').${v};`);
  for (const t of types) lines.push(`  type ${t} = T.${t};`);
  lines.push(`  type ZodType<Q = unknown> = import('zod').ZodType<Q>;`, AMBIENT, '}', 'export {};', '');
  return lines.join('\n');
}
