import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { ErrorIssue } from '../errors.js';
import { InputError, type CliIo } from './io.js';

/** A plan file's JSON (`-` reads standard input). Throws `InputError` if unreadable or not JSON. */
export async function readPlanFile(file: string, io: CliIo): Promise<unknown> {
  let text: string;
  try {
    text = file === '-' ? await readAll(io.stdin) : await readFile(resolve(io.cwd, file), 'utf8');
  } catch (error) {
    throw new InputError(`cannot read plan ${file}: ${(error as Error).message}`);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new InputError(`invalid plan ${file}`, [{ path: '(root)', message: `not JSON: ${(error as Error).message}` }]);
  }
}

/** `--partial` forces errorPolicy "partial" on the plan as written. */
export function withPartial(plan: unknown, partial: boolean | undefined): unknown {
  if (!partial || typeof plan !== 'object' || plan === null || Array.isArray(plan)) return plan;
  return { ...plan, errorPolicy: 'partial' };
}

/**
 * `--param name=value` options as run params. A value is parsed as JSON when it is JSON
 * (`n=10` → 10, `ok=true`, `ids=[1,2]`, `s="10"` → the string "10"), else kept as the
 * string (`region=EU`). The last of repeated names wins.
 */
export function parseParams(values: readonly string[] | undefined): Record<string, unknown> {
  const params: Record<string, unknown> = {};
  const issues: ErrorIssue[] = [];
  for (const [i, raw] of (values ?? []).entries()) {
    const eq = raw.indexOf('=');
    if (eq <= 0) {
      issues.push({ path: `--param[${i}]`, message: `"${raw}" is not name=value` });
      continue;
    }
    const name = raw.slice(0, eq);
    const text = raw.slice(eq + 1);
    let value: unknown = text;
    try {
      value = JSON.parse(text);
    } catch {
      // not JSON: the string itself
    }
    Object.defineProperty(params, name, { value, enumerable: true, configurable: true, writable: true });
  }
  if (issues.length > 0) throw new InputError('invalid arguments', issues);
  return params;
}

async function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer));
  return Buffer.concat(chunks).toString('utf8');
}
