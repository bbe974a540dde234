import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { runCli, tempDir } from './support.js';

/*
 * What the command prints from data or from a server cannot drive the terminal: escape
 * sequences in a column name or in an error body are shown escaped, never written raw.
 */
const ESCAPES = '\x1b]0;pwned\x07\x1b[2J';
/** Any control character but the line ends the command itself writes. */
const RAW_CONTROL = /[\x00-\x09\x0b-\x1f\x7f-\x9f]/; // eslint-disable-line no-control-regex -- the point of the check

const tmp = tempDir();
let server: Server;
let port: number;

beforeAll(async () => {
  server = createServer((_req, res) => {
    res.statusCode = 400;
    res.end(`oops ${ESCAPES} cleared\nforged: tributary: ok`);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});
afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
  tmp.remove();
});

describe.concurrent('terminal escape sequences from data and servers', { timeout: 60_000 }, () => {
  it('a column name with escape sequences is printed escaped in a table', async ({ expect }) => {
    const plan = tmp.file('esc-plan.json', { fragments: [{ id: 'a', source: 'm', query: { table: 'e' } }] });
    const sources = tmp.file('esc-sources.json', { m: { kind: 'memory', tables: { e: [{ [ESCAPES]: 1 }] } } });
    const out = await runCli(['run', plan, '-s', sources, '-q']);
    expect(out.code).toBe(0);
    expect(out.stdout).not.toMatch(RAW_CONTROL);
    expect(out.stdout).toContain('?]0;pwned??[2J');
  });

  it('an error body with escape sequences and line breaks is printed escaped, on its one line', async ({ expect }) => {
    const plan = tmp.file('http-plan.json', { fragments: [{ id: 'a', source: 'h', query: { path: '/x' } }] });
    const sources = tmp.file('http-sources.json', { h: { kind: 'http', baseUrl: `http://127.0.0.1:${port}` } });
    const quiet = await runCli(['run', plan, '-s', sources, '-q']);
    const plain = await runCli(['run', plan, '-s', sources]);
    for (const out of [quiet, plain]) {
      expect(out.code).toBe(1);
      expect(out.stderr).not.toMatch(RAW_CONTROL);
      expect(out.stderr).toContain('oops ?]0;pwned??[2J cleared');
      expect(out.stderr.split('\n').some((line) => line.startsWith('forged'))).toBe(false);
    }
  });

  it('validate prints a plan id, source names and parameters escaped, each on its one line', async ({ expect }) => {
    const name = `m${ESCAPES}\nforged`;
    const plan = tmp.file('esc-validate-plan.json', {
      id: `q${ESCAPES}\nforged`,
      fragments: [{ id: 'a', source: name, query: { table: `t${ESCAPES}`, where: { eq: ['x', { $param: `p${ESCAPES}` }] } } }],
    });
    const sources = tmp.file('esc-validate-sources.json', { [name]: { kind: 'memory', tables: { [`t${ESCAPES}`]: [{ x: 1 }] } } });
    const out = await runCli(['validate', plan, '-s', sources]);
    expect(out.stderr).toBe('');
    expect(out.code).toBe(0);
    expect(out.stdout).not.toMatch(RAW_CONTROL);
    expect(out.stdout.split('\n').some((line) => line.startsWith('forged'))).toBe(false);
    expect(out.stdout).toContain('source m?]0;pwned??[2J\\nforged: memory tables: t?]0;pwned??[2J');
  });
});
