import { readFile } from 'node:fs/promises';
import { dirname, isAbsolute, resolve } from 'node:path';
import { z } from 'zod';
import { isTributaryError, type ErrorIssue } from '../errors.js';
import { flattenIssues } from '../zod-issues.js';
import { formatPath } from '../plan/index.js';
import type { SourceExecutor } from '../sources/source.js';
import { withLaneOptions } from '../sources/lane-options.js';
import { InputError } from './io.js';
import { JsonNumberRangeError, jsonFileText, parseExactJson } from './exact-json.js';
import { notJsonMessage } from './json-position.js';
import { collectSecrets, createRedactor, type Redactor } from './redact.js';

/**
 * The sources file of the command line: source name → connector options tagged by `kind`.
 *
 * ```json
 * { "crm":  { "kind": "sqlite", "file": "crm.db" },
 *   "shop": { "kind": "postgres", "url": "postgres://app:${SHOP_PASSWORD}@db/shop", "maxConcurrency": 4 },
 *   "ref":  { "kind": "memory", "tables": { "regions": [{ "code": "EU" }] } } }
 * ```
 *
 * `${VAR}` in any string is replaced by the environment variable (`$${` writes a literal
 * `${`); a missing variable is an error naming it. A relative sqlite `file` is resolved
 * against the sources file's folder. The other fields are the connector's own options,
 * checked by the connector's zod schema.
 */
export const SOURCE_KINDS = ['sqlite', 'postgres', 'mysql', 'http', 'memory'] as const;
export type SourceKind = (typeof SOURCE_KINDS)[number];

export const sourceEntrySchema = z.looseObject(
  {
    kind: z.enum(SOURCE_KINDS, { error: (i) => `${i.input === undefined ? 'kind is missing' : `unknown kind ${JSON.stringify(i.input)}`}; kind must be one of ${SOURCE_KINDS.join(', ')}` }),
  },
  { error: 'a source is an object: { "kind": …, …options }' },
);

/** The sources of a sources file, ready to register, with the redactor for its secrets. */
export interface LoadedSources {
  sources: Record<string, SourceExecutor>;
  /** name → `sqlite /abs/crm.db`, `postgres postgres://app:***@db/shop`, … (secrets masked). */
  describe(): { name: string; kind: SourceKind; location: string }[];
  /** Each memory source's table names, for `validate`. */
  memoryTables: ReadonlyMap<string, readonly string[]>;
  /** Each SQLite source's file, absolute and unmasked (describe() masks secrets), for `validate`. */
  sqliteFiles: ReadonlyMap<string, string>;
  redact: Redactor;
  /** Closes every source (also done by `executor.close()`); idempotent per source. */
  close(): Promise<void>;
}

/**
 * What the sources are loaded for: `run` runs them in this process, so a connector's
 * `remote: true` (BullMQ workers the command line does not have) is refused; `check`
 * (`validate`, `explain` without `--analyze`) runs nothing and takes it as written.
 */
export type SourcesUse = 'run' | 'check';

/**
 * Reads, expands, validates and instantiates a sources file. Throws `InputError` with one
 * issue per problem, each at its JSON path (`shop.url`, `crm.maxConcurrency`); nothing in
 * an issue carries a secret.
 */
export async function loadSourcesFile(path: string, env: NodeJS.ProcessEnv, use: SourcesUse = 'run'): Promise<LoadedSources> {
  const title = `invalid sources file ${path}`;
  let text: string;
  try {
    text = jsonFileText(await readFile(path));
  } catch (error) {
    throw new InputError(`cannot read sources file ${path}: ${(error as Error).message}`);
  }
  let json: unknown;
  try {
    // Exact numbers: a memory table's 64-bit keys stay exact (the values policy).
    json = parseExactJson(text);
  } catch (error) {
    // Not Node's message: it quotes the text around the mistake, which may be a password.
    throw new InputError(title, [{ path: '(root)', message: error instanceof JsonNumberRangeError ? error.message : notJsonMessage(text) }]);
  }

  const issues: ErrorIssue[] = [];
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new InputError(title, [{ path: '(root)', message: 'a sources file is a JSON object: name → { "kind": …, …options }' }]);
  }
  // A source with a missing variable is still checked for its kind, but not created.
  const unexpanded = new Set<string>();
  const expanded: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(json)) {
    const before = issues.length;
    Object.defineProperty(expanded, name, { value: expandEnv(value, env, [name], issues), enumerable: true, configurable: true, writable: true });
    if (issues.length > before) unexpanded.add(name);
  }
  const redact = createRedactor(collectSecrets(expanded));

  const baseDir = dirname(path);
  const sources: Record<string, SourceExecutor> = {};
  const described: { name: string; kind: SourceKind; location: string }[] = [];
  const memoryTables = new Map<string, string[]>();
  const sqliteFiles = new Map<string, string>();
  // Each entry is checked on its own, so one bad entry (an unknown kind) hides no other problem.
  for (const [name, value] of Object.entries(expanded)) {
    const parsedEntry = sourceEntrySchema.safeParse(value);
    if (name === '') issues.push({ path: '(root)', message: 'a source name must not be empty' });
    if (!parsedEntry.success) {
      for (const i of flattenIssues(parsedEntry.error.issues)) issues.push({ path: formatPath(name, i.path), message: redact(i.message) });
      continue;
    }
    const entry = parsedEntry.data;
    if (unexpanded.has(name)) continue;
    const { kind, ...options } = entry;
    // The command line has no BullMQ workers, so a connector's `remote: true` could not run here;
    // a check runs nothing, and the connector's lane options check the value (a boolean).
    if (use === 'run' && options.remote !== undefined) {
      issues.push({ path: formatPath(name, ['remote']), message: 'the command line runs every source in-process (it has no BullMQ workers); remove "remote"' });
      continue;
    }
    if (kind === 'sqlite' && typeof options.file === 'string' && options.file !== ':memory:' && !isAbsolute(options.file)) {
      options.file = resolve(baseDir, options.file);
    }
    // SQL connectors name themselves in error messages; the sources file's name says more.
    if ((kind === 'postgres' || kind === 'mysql') && options.name === undefined) options.name = name;
    try {
      Object.defineProperty(sources, name, { value: await createSource(kind, options), enumerable: true, configurable: true, writable: true });
      described.push({ name, kind, location: `${redact(locationOf(kind, options))}${options.remote === true ? ' (remote)' : ''}` });
      if (kind === 'memory') memoryTables.set(name, Object.keys((options.tables as object | undefined) ?? {}));
      if (kind === 'sqlite' && typeof options.file === 'string') sqliteFiles.set(name, options.file);
    } catch (error) {
      if (!isTributaryError(error) || error.issues.length === 0) {
        issues.push({ path: name, message: redact(error instanceof Error ? error.message : String(error)) });
        continue;
      }
      for (const issue of error.issues) {
        const at = issue.path.replace(/^options\.?/, '');
        issues.push({ path: formatPath(name, at === '' ? [] : [at]), message: redact(issue.message) });
      }
    }
  }
  const close = async (): Promise<void> => {
    await Promise.allSettled(Object.values(sources).map((s) => s.close?.()));
  };
  if (issues.length > 0) {
    await close();
    throw new InputError(title, issues);
  }
  return { sources, describe: () => described.map((d) => ({ ...d })), memoryTables, sqliteFiles, redact, close };
}

/** Replaces `${VAR}` in every string; records a missing variable as an issue at its path. */
export function expandEnv(value: unknown, env: NodeJS.ProcessEnv, path: (string | number)[], issues: ErrorIssue[]): unknown {
  if (typeof value === 'string') {
    return value.replace(/\$(\$)?\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (whole: string, escaped: string | undefined, name: string) => {
      if (escaped) return whole.slice(1);
      const v = env[name];
      if (v === undefined) {
        issues.push({ path: formatPath('', path) || '(root)', message: `environment variable ${name} is not set` });
        return '';
      }
      return v;
    });
  }
  if (Array.isArray(value)) return value.map((v, i) => expandEnv(v, env, [...path, i], issues));
  if (typeof value === 'object' && value !== null) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      Object.defineProperty(out, k, { value: expandEnv(v, env, [...path, k], issues), enumerable: true, configurable: true, writable: true });
    }
    return out;
  }
  return value;
}

/** Loads only the connector in use: pg and mysql2 cost startup time. */
async function createSource(kind: SourceKind, options: Record<string, unknown>): Promise<SourceExecutor> {
  switch (kind) {
    case 'sqlite':
      return withLaneOptions('sqlite', (await import('../sources/sqlite/connector.js')).sqliteSource)(options as never);
    case 'postgres':
      return withLaneOptions('postgres', (await import('../sources/postgres/connector.js')).postgresSource)(options as never);
    case 'mysql':
      return withLaneOptions('mysql', (await import('../sources/mysql/connector.js')).mysqlSource)(options as never);
    case 'http':
      return withLaneOptions('http', (await import('../sources/http/connector.js')).httpSource)(options as never);
    case 'memory':
      return withLaneOptions('memory', (await import('../sources/memory/connector.js')).memorySource)(options as never);
    default:
      return kind satisfies never;
  }
}

/** Where a source points, for `validate`'s listing (redacted by the caller). */
function locationOf(kind: SourceKind, o: Record<string, unknown>): string {
  const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
  switch (kind) {
    case 'sqlite':
      return str(o.file) ?? '';
    case 'postgres':
    case 'mysql':
      return str(o.url) ?? str(o.connectionString) ?? [str(o.host) ?? 'localhost', o.port ?? '', str(o.database) ?? ''].filter((x) => x !== '').join(':');
    case 'http':
      return str(o.baseUrl) ?? '';
    case 'memory':
      return `tables: ${Object.keys((o.tables as object | undefined) ?? {}).join(', ')}`;
    default:
      return kind satisfies never;
  }
}
