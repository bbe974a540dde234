import { resolve } from 'node:path';
import { isTributaryError } from '../errors.js';
import { validatePlan } from '../plan/index.js';
import { readPlanFile } from './inputs.js';
import { EXIT, InputError, type CliIo } from './io.js';
import { planParams } from './params.js';
import { printable } from './printable.js';
import { checkMemoryTables } from './memory-check.js';
import { checkSqliteQueries } from './sqlite-check.js';
import { loadSourcesFile } from './sources-file.js';
import { count } from '../explain/index.js';

/**
 * `tributary validate plan.json [--sources sources.json]`: checks the plan (schema, graph,
 * limits) and, with a sources file, the file itself and every fragment's source name and
 * native query: memory tables, and SQLite statements compiled against the file
 * (nothing runs). Prints a one-line summary, the sources (secrets masked) and the plan's
 * parameters; exit 0 valid, 2 invalid with every problem listed by JSON path.
 */
export async function validateCommand(planFile: string, opts: { sources?: string }, io: CliIo): Promise<number> {
  const raw = await readPlanFile(planFile, io);
  const loaded = opts.sources === undefined ? undefined : await loadSourcesFile(resolve(io.cwd, opts.sources), io.env, 'check');
  try {
    const plan = validatePlan(raw, loaded ? { sources: new Map(Object.entries(loaded.sources)) } : {});
    // The files themselves: describe() is for printing, its paths masked where they hold a secret.
    const sqliteFiles = new Map([...(loaded?.sqliteFiles ?? [])].filter(([, file]) => file !== ':memory:'));
    const issues = [...checkMemoryTables(plan, loaded?.memoryTables ?? new Map()), ...checkSqliteQueries(plan, sqliteFiles)];
    if (issues.length > 0) throw new InputError(`invalid plan ${planFile}`, issues);
    const lines = [`plan ${plan.id} is valid: ${count(plan.fragments.length, 'fragment')} in ${count(plan.levels.length, 'level')}${loaded ? ', checked against the sources' : ''}`];
    for (const s of loaded?.describe() ?? []) lines.push(`  source ${s.name}: ${s.kind} ${s.location}`);
    const params = [...planParams(plan).keys()];
    if (params.length > 0) lines.push(`  parameters: ${params.join(', ')} (run with ${params.map((p) => `--param ${p}=…`).join(' ')})`);
    // Names come from the files as written: shown escaped, each line one line.
    io.stdout.write(`${lines.map(printable).join('\n')}\n`);
    return EXIT.ok;
  } catch (error) {
    if (isTributaryError(error)) throw new InputError(`invalid plan ${planFile}`, error.issues);
    throw error;
  } finally {
    await loaded?.close();
  }
}
