import { resolve } from 'node:path';
import { isTributaryError } from '../errors.js';
import { analyze, explain } from '../explain/index.js';
import { checkAccess } from '../access/index.js';
import { checkParams, parseParams } from './params.js';
import { validatePlan } from '../plan/index.js';
import { loadAuthorize } from './authorize-option.js';
import { executePlanFile, parseDeadline, type ExecuteOptions } from './execute.js';
import { readPlanFile, withRunFlags } from './inputs.js';
import { EXIT, InputError, type CliIo } from './io.js';
import { loadSourcesFile } from './sources-file.js';

export const EXPLAIN_FORMATS = ['text', 'mermaid', 'dot', 'svg', 'html'] as const;
export type ExplainFormat = (typeof EXPLAIN_FORMATS)[number];

export interface ExplainCommandOptions extends Partial<ExecuteOptions> {
  format: ExplainFormat;
  analyze?: boolean;
}

/**
 * `tributary explain plan.json`: the plan's levels, fragments, bound inputs and merge tree
 * without running it (checked against `--sources` when given). With `--analyze` it runs
 * the plan and prints EXPLAIN ANALYZE instead: timings and the critical path (a Gantt
 * chart with `--format mermaid`, the timeline as SVG, or a page with the plan and the
 * timeline with `--format html`); the exit code is then the run's.
 */
export async function explainCommand(planFile: string, opts: ExplainCommandOptions, io: CliIo): Promise<number> {
  if (opts.analyze) {
    if (opts.sources === undefined) throw new InputError('explain --analyze runs the plan: give --sources', [{ path: '--sources', message: 'required with --analyze' }]);
    const execution = await executePlanFile(planFile, { ...opts, sources: opts.sources }, io);
    if (execution.result === undefined) return execution.exitCode;
    const analysis = analyze(execution.result, execution.plan, { events: execution.events, bytes: execution.bytes });
    io.stdout.write(`${render(analysis, opts.format)}\n`);
    return execution.exitCode;
  }

  // Shown as a run with the same flags would run it: its error policy, its deadline, its params.
  const params = parseParams(opts.param);
  const deadlineMs = parseDeadline(opts.deadline);
  const raw = withRunFlags(await readPlanFile(planFile, io), { partial: opts.partial, deadlineMs });
  const authorize = opts.authorize === undefined ? undefined : await loadAuthorize(opts.authorize, io);
  const loaded = opts.sources === undefined ? undefined : await loadSourcesFile(resolve(io.cwd, opts.sources), io.env, 'check');
  try {
    const sources = loaded ? { sources: new Map(Object.entries(loaded.sources)) } : {};
    const plan = validatePlan(raw, sources);
    // No parameter the plan does not use (a misspelt name), as run refuses it. One it uses may be
    // left out — the values do not change the picture — unless --authorize asks the rule with them.
    checkParams(plan, params, { missing: authorize !== undefined });
    const principal = opts.principal === undefined ? undefined : { id: opts.principal };
    // With --authorize: what the rule would refuse (it may answer asynchronously), shown per fragment.
    const access = authorize ? await checkAccess(authorize, plan, principal, params) : undefined;
    const explained = explain(plan, { ...sources, ...(access ? { access } : {}), ...(principal ? { principal } : {}) });
    io.stdout.write(`${render(explained, opts.format)}\n`);
    return (explained.access?.refused ?? 0) > 0 ? EXIT.forbidden : EXIT.ok;
  } catch (error) {
    if (isTributaryError(error)) throw new InputError(`invalid plan ${planFile}`, error.issues);
    throw error;
  } finally {
    await loaded?.close();
  }
}

function render(r: Record<ExplainFormat, () => string>, format: ExplainFormat): string {
  switch (format) {
    case 'text':
      return r.text();
    case 'mermaid':
      return r.mermaid();
    case 'dot':
      return r.dot();
    case 'svg':
      return r.svg();
    case 'html':
      return r.html();
    default:
      return format satisfies never;
  }
}
