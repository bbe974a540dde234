import { executePlanFile, type ExecuteOptions } from './execute.js';
import { formatRows, type RowFormat } from './format.js';
import type { CliIo } from './io.js';

export interface RunCommandOptions extends ExecuteOptions {
  format: RowFormat;
}

/**
 * `tributary run plan.json --sources sources.json`: runs the plan, rows to stdout in the
 * chosen format, progress and errors to stderr. Exit 0 ok, 1 failed, 2 invalid input,
 * 3 partial (the rows that could be computed are still printed).
 */
export async function runCommand(planFile: string, opts: RunCommandOptions, io: CliIo): Promise<number> {
  const { result, exitCode } = await executePlanFile(planFile, opts, io);
  if (result && result.status !== 'failed') io.stdout.write(formatRows(result.rows, result.columns, opts.format));
  return exitCode;
}
