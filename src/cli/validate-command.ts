import { resolve } from 'node:path';
import { isTributaryError } from '../errors.js';
import { validatePlan } from '../plan/index.js';
import { readPlanFile } from './inputs.js';
import { EXIT, InputError, type CliIo } from './io.js';
import { loadSourcesFile } from './sources-file.js';

/**
 * `tributary validate plan.json [--sources sources.json]`: checks the plan (schema, graph,
 * limits) and, with a sources file, the file itself and every fragment's source name and
 * native query. Prints a one-line summary and the sources (secrets masked); exit 0 valid,
 * 2 invalid with every problem listed by JSON path.
 */
export async function validateCommand(planFile: string, opts: { sources?: string }, io: CliIo): Promise<number> {
  const raw = await readPlanFile(planFile, io);
  const loaded = opts.sources === undefined ? undefined : await loadSourcesFile(resolve(io.cwd, opts.sources), io.env);
  try {
    const plan = validatePlan(raw, loaded ? { sources: new Map(Object.entries(loaded.sources)) } : {});
    const lines = [`plan ${plan.id} is valid: ${plan.fragments.length} fragments in ${plan.levels.length} levels${loaded ? ', checked against the sources' : ''}`];
    for (const s of loaded?.describe() ?? []) lines.push(`  source ${s.name}: ${s.kind} ${s.location}`);
    io.stdout.write(`${lines.join('\n')}\n`);
    return EXIT.ok;
  } catch (error) {
    if (isTributaryError(error)) throw new InputError(`invalid plan ${planFile}`, error.issues);
    throw error;
  } finally {
    await loaded?.close();
  }
}
