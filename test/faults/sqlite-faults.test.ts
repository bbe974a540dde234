import { spawn } from 'node:child_process';
import { closeSync, copyFileSync, mkdtempSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sqliteSource } from '../../src/sources/sqlite/connector.js';
import { localSource, unionPlan } from '../support/fault-plans.js';
import { faultExecutor, probeSource, runScenario, unhandledRejections } from '../support/fault-scenario.js';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));

describe('fault suite: SQLite', () => {
  let dir: string;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'tributary-faults-'));
  });
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
    expect(unhandledRejections()).toEqual({ count: 0, reasons: [] });
  });

  /** A fresh database file with 200 rows in `items`. */
  const database = (name: string): string => {
    const file = join(dir, `${name}.db`);
    const db = new Database(file);
    db.exec('CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT NOT NULL)');
    const insert = db.prepare('INSERT INTO items (id, name) VALUES (?, ?)');
    db.transaction(() => {
      for (let i = 1; i <= 200; i++) insert.run(i, `item ${i}`);
    })();
    db.close();
    return file;
  };
  const plan = (id: string) => unionPlan(id, { id: 'lite', source: 'lite', query: { sql: "SELECT id, name, 'lite' AS frag FROM items ORDER BY id" } }, { deadlineMs: 5000 });

  /** Another process takes an EXCLUSIVE lock on `file` and holds it for `ms`. */
  const lockFromAnotherProcess = async (file: string, ms: number): Promise<{ released: Promise<void> }> => {
    const script = `
      const Database = require('better-sqlite3');
      const db = new Database(process.argv[1]);
      db.exec('BEGIN EXCLUSIVE');
      process.stdout.write('locked\\n');
      setTimeout(() => { db.exec('COMMIT'); db.close(); }, Number(process.argv[2]));`;
    const child = spawn(process.execPath, ['-e', script, file, String(ms)], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'inherit'] });
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (chunk: Buffer) => {
        if (chunk.toString().includes('locked')) resolve();
      });
      child.once('exit', (code) => reject(new Error(`the lock holder exited early (${code})`)));
    });
    return { released: exited };
  };

  it('waits out a lock held briefly by another process', async () => {
    const file = database('locked');
    const source = sqliteSource({ file });
    let holder: { released: Promise<void> } | undefined;
    const r = await runScenario({
      name: 'sqlite: database locked by another process for 300 ms',
      server: 'sqlite',
      executor: faultExecutor({ lite: source, local: localSource() }, { timeoutMs: 3000 }),
      plan: plan('lite-locked'),
      inject: async () => {
        holder = await lockFromAnotherProcess(file, 300);
      },
      heal: async () => {
        await holder?.released;
      },
      expect: 'recovered',
      probe: () => probeSource(source, { sql: 'SELECT 1 AS ok' }),
    });
    expect(r.retries).toBe(0);
  });

  it('fails a fragment whose database file went missing, without retrying, and recovers when it is back', async () => {
    const file = database('missing');
    const source = sqliteSource({ file, readonly: true });
    await runScenario({
      name: 'sqlite: database file missing (not retryable)',
      server: 'sqlite',
      baselineExecutor: faultExecutor({ lite: sqliteSource({ file, readonly: true }), local: localSource() }),
      executor: faultExecutor({ lite: source, local: localSource() }),
      plan: plan('lite-missing'),
      inject: () => renameSync(file, `${file}.away`),
      heal: () => renameSync(`${file}.away`, file),
      expect: 'partial',
      cause: { fragmentId: 'lite', code: 'SOURCE_UNAVAILABLE', driverCode: 'SQLITE_CANTOPEN' },
      probe: () => probeSource(source, { sql: 'SELECT 1 AS ok' }),
      check: ({ result }) => expect(result?.fragments.lite?.attempts).toBe(1),
    });
  });

  it('fails a fragment whose table was dropped, naming the fragment, without retrying', async () => {
    const file = database('dropped');
    const source = sqliteSource({ file });
    const admin = new Database(file);
    try {
      await runScenario({
        name: 'sqlite: table dropped under the plan (not retryable)',
        server: 'sqlite',
        executor: faultExecutor({ lite: source, local: localSource() }),
        plan: plan('lite-dropped'),
        inject: () => void admin.exec('ALTER TABLE items RENAME TO items_away'),
        heal: () => void admin.exec('ALTER TABLE items_away RENAME TO items'),
        expect: 'partial',
        cause: { fragmentId: 'lite', code: 'FRAGMENT_FAILED', driverCode: 'SQLITE_ERROR' },
        probe: () => probeSource(source, { sql: 'SELECT count(*) AS n FROM items' }),
        check: ({ result }) => expect(result?.fragments.lite?.attempts).toBe(1),
      });
    } finally {
      admin.close();
    }
  });

  it('fails a fragment over a corrupted file, without retrying, and recovers once it is restored', async () => {
    const file = database('corrupt');
    const pristine = `${file}.pristine`;
    copyFileSync(file, pristine);
    const source = sqliteSource({ file });
    await runScenario({
      name: 'sqlite: database file corrupted (not a database)',
      server: 'sqlite',
      baselineExecutor: faultExecutor({ lite: sqliteSource({ file: pristine }), local: localSource() }),
      executor: faultExecutor({ lite: source, local: localSource() }),
      plan: plan('lite-corrupt'),
      inject: () => {
        // Garbage over the 100-byte header: SQLite no longer recognises the file.
        const fd = openSync(file, 'r+');
        writeSync(fd, Buffer.alloc(100, 0x5a), 0, 100, 0);
        closeSync(fd);
      },
      heal: () => copyFileSync(pristine, file),
      expect: 'partial',
      cause: { fragmentId: 'lite', code: 'FRAGMENT_FAILED', driverCode: 'SQLITE_NOTADB' },
      probe: () => probeSource(source, { sql: 'SELECT count(*) AS n FROM items' }),
      check: ({ result }) => expect(result?.fragments.lite?.attempts).toBe(1),
    });
  });
});
