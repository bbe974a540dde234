import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jsonSyntaxPosition } from '../../src/cli/json-position.js';
import { createRedactor } from '../../src/cli/redact.js';
import { BIN, cliEnv, ROOT, runCli, tempDir } from './support.js';

/*
 * Secrets of the sources file never leave the command: not in a recording, not in what
 * `replay` prints, not on the live page, not in the message about a malformed sources file.
 * The HTTP API here answers 401 echoing the credential it was sent, as careless servers do.
 */
const TOKEN = 'tok_Zr8Kq2Lm5Np7';
const tmp = tempDir();
let server: Server;
let plan: string;
let sources: string;

beforeAll(async () => {
  server = createServer((req, res) => {
    res.statusCode = 401;
    res.end(`bad token: ${req.headers.authorization ?? ''}`);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  plan = tmp.file('plan.json', { id: 'leaky', fragments: [{ id: 'a', source: 'api', query: { path: '/x' } }] });
  sources = tmp.file('sources.json', { api: { kind: 'http', baseUrl: `http://127.0.0.1:${port}`, headers: { authorization: 'Bearer ${API_TOKEN}' } } });
});
afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
  tmp.remove();
});

const env = { API_TOKEN: TOKEN };

describe.concurrent('secrets stay out of recordings, replays and the live page', { timeout: 60_000 }, () => {
  it('run --record masks the sources file\'s secrets in the recorded errors; replay prints none', async ({ expect }) => {
    const file = join(tmp.dir, 'leaky-recording.json');
    const ran = await runCli(['run', plan, '-s', sources, '-q', '--record', file], { env });
    expect(ran.code).toBe(1);
    expect(ran.stderr).toContain('answered 401 Unauthorized: bad token: ***');
    const text = readFileSync(file, 'utf8');
    expect(text).not.toContain(TOKEN);
    expect((JSON.parse(text) as { calls: { error?: { message: string } }[] }).calls[0]!.error!.message).toContain('bad token: ***');
    const replayed = await runCli(['replay', file, '-q']);
    expect(replayed.code).toBe(1);
    expect(replayed.stderr).toBe(ran.stderr);
  });

  it('replay masks credentials in a recording that holds them (made by the library, or before)', async ({ expect }) => {
    const file = join(tmp.dir, 'leaky-recording-2.json');
    await runCli(['run', plan, '-s', sources, '-q', '--record', file], { env });
    const raw = readFileSync(file, 'utf8').replace('bad token: ***', `bad token: Bearer ${TOKEN}; from postgres://app:hunter22@db/x?password=sw0rdfish`);
    const old = tmp.file('old-recording.json', raw);
    const replayed = await runCli(['replay', old, '-q']);
    expect(replayed.code).toBe(1);
    for (const secret of [TOKEN, 'hunter22', 'sw0rdfish']) expect(replayed.stderr).not.toContain(secret);
    expect(replayed.stderr).toContain('bad token: Bearer ***; from postgres://app:***@db/x?password=***');
  });

  it('the live page (--ui) shows error messages with the secrets masked', async ({ expect }) => {
    const child = spawn(process.execPath, [BIN, 'run', plan, '--sources', sources, '--ui', '--quiet'], { cwd: ROOT, env: cliEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    try {
      const url = await new Promise<string>((resolve, reject) => {
        child.stderr.setEncoding('utf8').on('data', (d: string) => {
          stderr += d;
          const m = /the live view stays at (http:\/\/127\.0\.0\.1:\d+\/)/.exec(stderr);
          if (m) resolve(m[1]!);
        });
        child.on('close', () => reject(new Error(`exited before serving: ${stderr}`)));
      });
      const snapshot = await firstSnapshot(url);
      expect(snapshot).toContain('bad token: ***');
      expect(snapshot).not.toContain(TOKEN);
    } finally {
      child.kill('SIGINT');
    }
    expect(await exited).toBe(1);
    expect(stderr).not.toContain(TOKEN);
  });

  it('a malformed sources file is reported by line and column, quoting none of it', async ({ expect }) => {
    const bad = tmp.file('bad-sources.json', '{\n  "db": { "kind": "mysql", "user": "root",\n    "password": SuperSecretPw123 } }');
    const out = await runCli(['validate', plan, '-s', bad]);
    expect(out.code).toBe(2);
    expect(out.stderr).toContain('(root): not JSON: unexpected character');
    expect(out.stderr).toContain('at line 3, column 17');
    for (const part of ['Super', 'Secret', 'Pw123', 'assword']) expect(out.stderr).not.toContain(part);
    const badPlan = tmp.file('bad-plan.json', '{ "id": "x", "fragments": [ }');
    const planOut = await runCli(['validate', badPlan]);
    expect(planOut.code).toBe(2);
    expect(planOut.stderr).toContain('not JSON: unexpected character (a value must be an object, array, string, number, true, false or null) at line 1, column 29');
  });
});

describe('jsonSyntaxPosition', () => {
  it('finds the first mistake JSON.parse finds, by line and column', () => {
    const cases: [string, number, number, string][] = [
      ['{ "a": 1, }', 1, 11, 'expected a property name'],
      ['{"a":\n  tru }', 2, 3, 'unexpected character'],
      ['[1, 2', 1, 6, 'unexpected end'],
      ['{"a": "x\ny"}', 1, 9, 'control character'],
      ['{"a": 01}', 1, 8, "expected ',' or '}'"],
      ['{"a": "\\q"}', 1, 9, 'bad escape'],
      ['{} x', 1, 4, 'after the JSON value'],
      ['', 1, 1, 'unexpected end'],
    ];
    for (const [text, line, column, problem] of cases) {
      expect(() => JSON.parse(text)).toThrow();
      expect(jsonSyntaxPosition(text), text).toMatchObject({ line, column, problem: expect.stringContaining(problem) });
    }
    for (const ok of ['{"a": [1, -2.5e3, true, null, "\\u00e9\\n"]}', ' 3 ', '"x"']) expect(jsonSyntaxPosition(ok)).toBeUndefined();
  });

  it('the redactor masks credentials it was not told about, and leaves words alone', () => {
    const redact = createRedactor();
    expect(redact('401: Bearer abc.DEF-123 and Basic dXNlcjpwYXNz')).toBe('401: Bearer *** and Basic ***');
    expect(redact('basic authentication required; token=s3cr3t&x=1')).toBe('basic authentication required; token=***&x=1');
  });
});

/** The first `snapshot` message of the live page's event stream, as its JSON text. */
async function firstSnapshot(url: string): Promise<string> {
  const abort = new AbortController();
  const res = await fetch(new URL('/events', url), { signal: abort.signal });
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
  let text = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`the stream ended before a snapshot: ${text}`);
    text += value;
    const match = /event: snapshot\ndata: (.*)\n\n/.exec(text);
    if (match) {
      abort.abort();
      return match[1]!;
    }
  }
}
