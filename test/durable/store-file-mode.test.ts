import { chmodSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createExecutor, memorySource, sqliteRunStore } from '../../src/index.js';

/*
 * A run store holds rows of every principal and each run's principal with its claims (a
 * token an httpSource forwards, say): the file it creates, and SQLite's -wal and -shm beside
 * it, are its owner's alone, as a recording the command line writes is (0600).
 */
describe('sqliteRunStore file mode', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });
  const tempDir = (): string => {
    const dir = mkdtempSync(join(tmpdir(), 'tributary-store-mode-'));
    dirs.push(dir);
    return dir;
  };
  const modeOf = (file: string): number => statSync(file).mode & 0o777;

  it('creates the database, its -wal and its -shm readable by their owner only', async () => {
    const dir = tempDir();
    const file = join(dir, 'runs.db');
    const executor = createExecutor({ sources: { m: memorySource({ tables: { t: [{ a: 1 }] } }) }, runStore: sqliteRunStore({ file, ttlMs: 60_000 }) });
    try {
      const result = await executor.execute({ fragments: [{ id: 'a', source: 'm', query: { table: 't' } }] }, { runId: 'nightly', principal: { id: 'alice', token: 'tok_secret' } });
      expect(result.status).toBe('ok');
      expect(readdirSync(dir).sort()).toEqual(['runs.db', 'runs.db-shm', 'runs.db-wal']);
      for (const name of readdirSync(dir)) expect([name, modeOf(join(dir, name)).toString(8)]).toEqual([name, '600']);
    } finally {
      await executor.close();
    }
  });

  it('leaves the mode of a file that is already there as its owner set it', async () => {
    const dir = tempDir();
    const file = join(dir, 'shared.db');
    writeFileSync(file, '');
    chmodSync(file, 0o640);
    const store = sqliteRunStore({ file });
    await store.close();
    expect(modeOf(file).toString(8)).toBe('640');
  });
});
