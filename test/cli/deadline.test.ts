import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { runCli, tempDir } from './support.js';

/** `--deadline <ms>`: an optional fragment still running at the deadline is dropped (exit 3), a required one fails. */
const tmp = tempDir();
// An HTTP API that never answers: the fragment on it runs until the deadline aborts its request.
let server: Server;
let baseUrl: string;
const open = new Set<ServerResponse>();

beforeAll(async () => {
  server = createServer((_req, res) => void open.add(res));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  for (const res of open) res.destroy();
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
  tmp.remove();
});

const sources = () =>
  tmp.file('deadline-sources.json', {
    slow: { kind: 'http', baseUrl },
    ref: { kind: 'memory', tables: { t: [{ id: 1 }, { id: 2 }] } },
  });

const plan = (optional: boolean) =>
  tmp.file(`deadline-${optional ? 'optional' : 'required'}.json`, {
    fragments: [
      { id: 'fast', source: 'ref', query: { table: 't' } },
      { id: 'count', source: 'slow', query: { path: '/never' }, ...(optional ? { optional: true } : {}) },
    ],
    merge: { op: 'project', columns: ['id'], input: { op: 'union', inputs: ['fast', 'count'] } },
  });

describe.concurrent('tributary run --deadline', { timeout: 60_000 }, () => {
  it('drops the optional slow fragment: exit 3, the fast rows, the completeness report on stderr', async ({ expect }) => {
    const out = await runCli(['run', plan(true), '-s', sources(), '--deadline', '500', '-f', 'ndjson', '-q']);
    expect(out.code).toBe(3);
    expect(out.stdout.trimEnd().split('\n').map((l) => JSON.parse(l) as unknown)).toEqual([{ id: 1 }, { id: 2 }]);
    expect(out.stderr).toMatch(/^tributary: incomplete: 1 fragment did not contribute all its rows\n {2}count: dropped \(deadline\), 1 attempt, \d+ ms used of a \d+ ms budget; rows may be missing\n$/);
  });

  it('fails with TIMEOUT when the slow fragment is required', async ({ expect }) => {
    const out = await runCli(['run', plan(false), '-s', sources(), '--deadline', '500', '-q']);
    expect(out.code).toBe(1);
    expect(out.stdout).toBe('');
    expect(out.stderr).toContain('TIMEOUT: fragment "count" had not finished at the query\'s 500 ms deadline');
  });

  it('exits 2 on a malformed --deadline, before anything runs', async ({ expect }) => {
    for (const bad of ['0', '-5', '1.5', 'soon']) {
      const out = await runCli(['run', plan(true), '-s', sources(), '--deadline', bad]);
      expect(out.code).toBe(2);
      expect(out.stderr).toContain('--deadline');
    }
  });
});
