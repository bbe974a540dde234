import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { InputError, type CliIo } from './io.js';
import { JsonNumberRangeError, jsonFileText, parseExactJson } from './exact-json.js';
import { notJsonMessage } from './json-position.js';

/**
 * A plan file's JSON (`-` reads standard input), its numbers exact (see `parseExactJson`: a
 * key beyond 2^53 in `params` binds as written). Throws `InputError` if unreadable or not JSON.
 */
export async function readPlanFile(file: string, io: CliIo): Promise<unknown> {
  let text: string;
  try {
    text = jsonFileText(file === '-' ? await readAll(io.stdin) : await readFile(resolve(io.cwd, file)));
  } catch (error) {
    throw new InputError(`cannot read plan ${file}: ${(error as Error).message}`);
  }
  try {
    return parseExactJson(text);
  } catch (error) {
    throw new InputError(`invalid plan ${file}`, [{ path: '(root)', message: error instanceof JsonNumberRangeError ? error.message : notJsonMessage(text) }]);
  }
}

/**
 * The plan as written, with what `--partial` (errorPolicy "partial") and `--deadline` (the
 * query's `deadlineMs`) set on it, as a run with them would run it.
 */
export function withRunFlags(plan: unknown, flags: { partial?: boolean | undefined; deadlineMs?: number | undefined }): unknown {
  if ((!flags.partial && flags.deadlineMs === undefined) || typeof plan !== 'object' || plan === null || Array.isArray(plan)) return plan;
  return { ...plan, ...(flags.partial ? { errorPolicy: 'partial' } : {}), ...(flags.deadlineMs === undefined ? {} : { deadlineMs: flags.deadlineMs }) };
}

/** A stream's bytes, to its end (standard input). */
export async function readAll(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer));
  return Buffer.concat(chunks);
}
