import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { createExecutor } from '../executor.js';
import { isTributaryError } from '../errors.js';
import { parseRecording, type Recording } from '../durable/index.js';
import { levels } from '../plan/index.js';
import type { QueryResult, QueryRun } from '../run/index.js';
import { exitCodeOf, printCompleteness, printErrors } from './execute.js';
import { formatRows, type RowFormat } from './format.js';
import { EXIT, InputError, type CliIo } from './io.js';
import { progressMode, showProgress } from './progress-bar.js';
import { createRedactor } from './redact.js';
import { jsonFileText } from './exact-json.js';
import { readAll } from './inputs.js';

export interface ReplayCommandOptions {
  format: RowFormat;
  quiet?: boolean;
}

/**
 * `tributary replay recording.json`: runs a recorded plan again against its recorded
 * responses on virtual time (no sources file, no server), rows to stdout, progress and
 * errors to stderr, with `run`'s exit codes.
 */
export async function replayCommand(file: string, opts: ReplayCommandOptions, io: CliIo): Promise<number> {
  let text: string;
  try {
    text = jsonFileText(file === '-' ? await readAll(io.stdin) : await readFile(resolve(io.cwd, file)));
  } catch (error) {
    throw new InputError(`cannot read recording ${file}: ${(error as Error).message}`);
  }
  let recording: Recording;
  try {
    recording = parseRecording(text);
  } catch (error) {
    if (isTributaryError(error)) throw new InputError(`invalid recording ${file}`, error.issues);
    throw error;
  }
  const executor = createExecutor();
  try {
    let run: QueryRun;
    try {
      run = executor.replay(recording);
    } catch (error) {
      if (isTributaryError(error)) throw new InputError(`cannot replay ${file}: ${error.message}`, error.issues);
      throw error;
    }
    const shape = shapeOf(recording.plan);
    const redact = createRedactor();
    const progress = showProgress(run, shape, io, progressMode(io, opts.quiet), redact);
    let result: QueryResult;
    try {
      result = await run.result;
    } finally {
      progress.stop();
    }
    if (result.status !== 'failed') io.stdout.write(formatRows(result.rows, result.columns, opts.format));
    if (result.errors.length > 0) printErrors(io, result, redact);
    if (result.status === 'partial') printCompleteness(io, result);
    return exitCodeOf(result);
  } catch (error) {
    if (isTributaryError(error, 'CANCELLED')) return EXIT.interrupted;
    throw error;
  } finally {
    await executor.close();
  }
}

function shapeOf(plan: unknown): { fragments: number; levels: number } {
  const fragments = (plan as { fragments?: { id: string; dependsOn?: string[] }[] }).fragments ?? [];
  try {
    return { fragments: fragments.length, levels: levels(fragments).length };
  } catch {
    return { fragments: fragments.length, levels: 1 };
  }
}
