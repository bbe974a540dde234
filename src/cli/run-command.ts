import { executePlanFile, type ExecuteOptions } from './execute.js';
import { formatRows, type RowFormat } from './format.js';
import type { CliIo } from './io.js';
import { liveOption } from './live-option.js';

export interface RunCommandOptions extends ExecuteOptions {
  format: RowFormat;
  /** `--ui [port]`: serve the live page on 127.0.0.1 during the run and after it, until Ctrl-C. */
  ui?: boolean | string;
}

/**
 * `tributary run plan.json --sources sources.json`: runs the plan, rows to stdout in the
 * chosen format, progress and errors to stderr. Exit 0 ok, 1 failed, 2 invalid input,
 * 3 partial (the rows that could be computed are still printed). With `--ui` the live page
 * follows the run and stays up after it until Ctrl-C.
 */
export async function runCommand(planFile: string, opts: RunCommandOptions, io: CliIo): Promise<number> {
  const live = liveOption(opts.ui, io);
  try {
    const { result, exitCode } = await executePlanFile(planFile, { ...opts, ...(live ? { live } : {}) }, io);
    if (result && result.status !== 'failed') io.stdout.write(formatRows(result.rows, result.columns, opts.format));
    if (result) await live?.untilInterrupted();
    return exitCode;
  } finally {
    await live?.close();
  }
}
