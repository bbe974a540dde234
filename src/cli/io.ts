import type { ErrorIssue } from '../errors.js';
import { printable } from './printable.js';

/** Where a command reads and writes; `processIo()` in the real command, buffers in tests. */
export interface CliIo {
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
  stderr: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  stdin: NodeJS.ReadableStream;
  env: NodeJS.ProcessEnv;
  /** Relative plan and sources paths resolve against it. */
  cwd: string;
}

export function processIo(): CliIo {
  return { stdout: process.stdout, stderr: process.stderr, stdin: process.stdin, env: process.env, cwd: process.cwd() };
}

/** The command's exit codes (README "Exit codes"). */
export const EXIT = {
  ok: 0,
  /** The query failed (fail-fast), or the command could not do its work. */
  failed: 1,
  /** Invalid input: arguments, plan or sources file; nothing ran. */
  invalid: 2,
  /** A partial result: some fragments failed under errorPolicy "partial". */
  partial: 3,
  /** The --authorize rule refused a fragment to the principal (FORBIDDEN); nothing ran. */
  forbidden: 4,
  /** Interrupted (SIGINT), as shells report 128 + 2. */
  interrupted: 130,
  /** Terminated (SIGTERM), as shells report 128 + 15. */
  terminated: 143,
} as const;

/**
 * Bad input, reported as a title and one `path: message` line per issue, exit code 2.
 * Thrown by the loaders; main() prints it.
 */
export class InputError extends Error {
  override name = 'InputError';
  readonly issues: ErrorIssue[];
  constructor(title: string, issues: ErrorIssue[] = []) {
    super(title);
    this.issues = issues;
  }
}

/** Writes `tributary: <title>` and the issues, one per line. */
export function printInputError(io: CliIo, error: InputError, redact: (s: string) => string = (s) => s): void {
  const lines = [`tributary: ${printable(redact(error.message))}`, ...error.issues.map((i) => `  ${printable(redact(i.path))}: ${printable(redact(i.message))}`)];
  io.stderr.write(`${lines.join('\n')}\n`);
}
