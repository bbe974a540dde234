import { constants } from 'node:buffer';
import { closeSync, openSync } from 'node:fs';
import Database from 'better-sqlite3';
import { z } from 'zod';
import { TributaryError } from '../errors.js';
import { DEFAULT_MAX_FRAGMENT_BYTES, oversizedFragment, storedBytesBound } from './fragment-bound.js';
import type { Lease, RunStore, StoredFragment, StoredRun, StoredRunInfo, StoredRunState } from './run-store.js';

const optionsSchema = z.strictObject({
  /** The database file (created if absent); `:memory:` keeps runs in this process only. */
  file: z.string().min(1),
  /** How long a finished run stays listed (ms); 0 removes it at once. */
  ttlMs: z.number().int().nonnegative().default(0),
  /**
   * The most bytes one stored fragment's rows may gunzip to on `resume` when the run has no
   * `rowLimits.maxBytes` (with one, ×4 of that bounds them). Default 1 GiB: a gzip bomb planted
   * in the store fails the resume with `SOURCE_BAD_RESPONSE` instead of being inflated.
   */
  maxFragmentBytes: z.number().int().positive().max(constants.MAX_LENGTH).default(DEFAULT_MAX_FRAGMENT_BYTES),
});

export type SqliteRunStoreOptions = z.input<typeof optionsSchema>;

interface RunRow {
  run_id: string;
  query_id: string;
  principal_id: string | null;
  state: StoredRunState;
  created_at: number;
  updated_at: number;
  fragments: number;
  stored: number;
  lease_owner: string | null;
  lease_expires_at: number | null;
  expires_at: number | null;
  payload?: Buffer;
  snapshot?: string | null;
}

const TABLE_COLUMNS = {
  tributary_runs: ['run_id', 'query_id', 'principal_id', 'state', 'created_at', 'updated_at', 'fragments', 'stored', 'lease_owner', 'lease_expires_at', 'expires_at', 'payload', 'snapshot'],
  tributary_run_fragments: ['run_id', 'fragment_id', 'row_count', 'columns', 'data'],
};

const INFO_COLUMNS = 'run_id, query_id, principal_id, state, created_at, updated_at, fragments, stored, lease_owner, lease_expires_at, expires_at';

/**
 * A run store in one SQLite file (better-sqlite3, WAL, so several processes may share it):
 * one row per run in `tributary_runs`, one per finished fragment in `tributary_run_fragments`
 * (its gzipped rows in one BLOB). Every statement is a prepared one with bound values.
 *
 * @example
 * const executor = createExecutor({ sources, runStore: sqliteRunStore({ file: 'runs.db' }) });
 */
export function sqliteRunStore(options: SqliteRunStoreOptions): RunStore {
  const parsed = optionsSchema.safeParse(options);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => ({ path: ['runStore', ...i.path].join('.'), message: i.message }));
    throw new TributaryError('CONFIG_INVALID', `invalid sqliteRunStore options: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`, { issues });
  }
  const { file, ttlMs, maxFragmentBytes } = parsed.data;
  const db = openDatabase(file);
  const st = {
    purge: db.prepare('SELECT run_id FROM tributary_runs WHERE expires_at IS NOT NULL AND expires_at <= ?'),
    remove: db.prepare('DELETE FROM tributary_runs WHERE run_id = ?'),
    removeFragments: db.prepare('DELETE FROM tributary_run_fragments WHERE run_id = ?'),
    exists: db.prepare('SELECT state, expires_at FROM tributary_runs WHERE run_id = ?'),
    insert: db.prepare(
      `INSERT INTO tributary_runs (run_id, query_id, principal_id, state, created_at, updated_at, fragments, stored, lease_owner, lease_expires_at, expires_at, payload, snapshot)
       VALUES (@runId, @queryId, @principalId, @state, @createdAt, @updatedAt, @fragments, 0, @leaseOwner, @leaseExpiresAt, NULL, @payload, @snapshot)`,
    ),
    get: db.prepare(`SELECT ${INFO_COLUMNS}, payload, snapshot FROM tributary_runs WHERE run_id = ? AND (expires_at IS NULL OR expires_at > ?)`),
    lease: db.prepare(
      `UPDATE tributary_runs SET lease_owner = @owner, lease_expires_at = @until, state = 'running', updated_at = @now
       WHERE run_id = @runId AND expires_at IS NULL AND (lease_owner IS NULL OR lease_owner = @owner OR lease_expires_at <= @now)`,
    ),
    release: db.prepare(`UPDATE tributary_runs SET lease_owner = NULL, lease_expires_at = NULL, state = @state, updated_at = @now WHERE run_id = @runId AND lease_owner = @owner`),
    putFragment: db.prepare(
      `INSERT INTO tributary_run_fragments (run_id, fragment_id, row_count, columns, data) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (run_id, fragment_id) DO UPDATE SET row_count = excluded.row_count, columns = excluded.columns, data = excluded.data`,
    ),
    hasFragment: db.prepare('SELECT 1 FROM tributary_run_fragments WHERE run_id = ? AND fragment_id = ?'),
    // Conditional on the lease: a process that lost it (another took the run over) writes nothing.
    touch: db.prepare(`UPDATE tributary_runs SET updated_at = ?, snapshot = COALESCE(?, snapshot), stored = stored + ? WHERE run_id = ? AND lease_owner = ? AND expires_at IS NULL`),
    // A stored form past the bound is sized, not read (its data comes back NULL).
    fragments: db.prepare('SELECT fragment_id, row_count, columns, length(data) AS size, CASE WHEN length(data) <= ? THEN data END AS data FROM tributary_run_fragments WHERE run_id = ?'),
    keep: db.prepare(`UPDATE tributary_runs SET state = ?, updated_at = ?, expires_at = ?, lease_owner = NULL, lease_expires_at = NULL WHERE run_id = ? AND lease_owner = ? AND expires_at IS NULL`),
    removeHeld: db.prepare('DELETE FROM tributary_runs WHERE run_id = ? AND lease_owner = ? AND expires_at IS NULL'),
    list: db.prepare(`SELECT ${INFO_COLUMNS} FROM tributary_runs WHERE expires_at IS NULL OR expires_at > ? ORDER BY created_at, run_id`),
  };

  const drop = db.transaction((runId: string) => {
    st.removeFragments.run(runId);
    st.remove.run(runId);
  });
  const purge = (now: number): void => {
    for (const row of st.purge.all(now) as { run_id: string }[]) drop(row.run_id);
  };
  const create = db.transaction((run: Omit<StoredRun, 'leaseOwner' | 'leaseExpiresAt'>, lease: Lease, now: number): boolean => {
    purge(now);
    const existing = st.exists.get(run.runId) as { state: StoredRunState; expires_at: number | null } | undefined;
    if (existing) {
      if (existing.expires_at === null) return false;
      drop(run.runId);
    }
    st.insert.run({
      runId: run.runId,
      queryId: run.queryId,
      principalId: run.principalId ?? null,
      state: run.state,
      createdAt: run.createdAt,
      updatedAt: run.updatedAt,
      fragments: run.fragments,
      leaseOwner: lease.owner,
      leaseExpiresAt: now + lease.ttlMs,
      payload: run.payload,
      snapshot: run.snapshot ?? null,
    });
    return true;
  });
  const put = db.transaction((runId: string, owner: string, fragment: StoredFragment, snapshot: string | undefined, now: number): boolean => {
    // Only the lease holder writes; a run finished, removed or taken over takes no rows from it.
    const added = st.hasFragment.get(runId, fragment.fragmentId) === undefined ? 1 : 0;
    if (st.touch.run(now, snapshot ?? null, added, runId, owner).changes !== 1) return false;
    st.putFragment.run(runId, fragment.fragmentId, fragment.rowCount, fragment.columns ?? null, fragment.chunks.length === 0 ? null : Buffer.concat(fragment.chunks));
    return true;
  });
  const finish = db.transaction((runId: string, owner: string, state: StoredRunState, keepMs: number, now: number): boolean => {
    if (keepMs > 0) return st.keep.run(state, now, now + keepMs, runId, owner).changes === 1;
    if (st.removeHeld.run(runId, owner).changes !== 1) return false;
    st.removeFragments.run(runId);
    return true;
  });
  let closed = false;

  return {
    ttlMs,
    maxFragmentBytes,
    create: async (run, lease, now) => create(run, lease, now),
    get: async (runId, now) => {
      const row = st.get.get(runId, now) as RunRow | undefined;
      return row ? { ...infoOf(row), payload: row.payload!, snapshot: row.snapshot ?? undefined } : undefined;
    },
    lease: async (runId, lease, now) => st.lease.run({ runId, owner: lease.owner, until: now + lease.ttlMs, now }).changes === 1,
    release: async (runId, owner, state, now) => {
      st.release.run({ runId, owner, state, now });
    },
    putFragment: async (runId, fragment, snapshot, now, owner) => put(runId, owner, fragment, snapshot, now),
    fragments: async (runId, maxBytes) => {
      const bound = storedBytesBound(maxBytes ?? maxFragmentBytes);
      return (st.fragments.all(bound, runId) as { fragment_id: string; row_count: number; columns: string | null; size: number | null; data: Buffer | null }[]).map((r) => {
        if (r.size !== null && r.size > bound) throw oversizedFragment(runId, r.fragment_id, r.size, bound);
        return { fragmentId: r.fragment_id, rowCount: r.row_count, chunks: r.data ? [r.data] : [], columns: r.columns ?? undefined };
      });
    },
    finish: async (runId, state, keepMs, now, owner) => finish(runId, owner, state, keepMs, now),
    list: async (now) => {
      purge(now);
      return (st.list.all(now) as RunRow[]).map(infoOf);
    },
    close: async () => {
      if (closed) return;
      closed = true;
      db.close();
    },
  };
}

/**
 * Opens (or creates) the store's file: a path that cannot be opened (no such directory, a
 * directory, not an SQLite file) is `CONFIG_INVALID` at `runStore.file`, not a driver error.
 */
function openDatabase(file: string): Database.Database {
  let db: Database.Database | undefined;
  try {
    if (file !== ':memory:') createPrivately(file);
    db = new Database(file);
    db.pragma('journal_mode = WAL');
    db.pragma('busy_timeout = 5000');
    db.exec(`
      CREATE TABLE IF NOT EXISTS tributary_runs (
        run_id TEXT PRIMARY KEY, query_id TEXT NOT NULL, principal_id TEXT, state TEXT NOT NULL,
        created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL, fragments INTEGER NOT NULL, stored INTEGER NOT NULL DEFAULT 0,
        lease_owner TEXT, lease_expires_at INTEGER, expires_at INTEGER, payload BLOB NOT NULL, snapshot TEXT);
      CREATE TABLE IF NOT EXISTS tributary_run_fragments (
        run_id TEXT NOT NULL, fragment_id TEXT NOT NULL, row_count INTEGER NOT NULL, columns TEXT, data BLOB,
        PRIMARY KEY (run_id, fragment_id));`);
    // A table of that name made by something else: say so here, not as a failing statement later.
    for (const [table, columns] of Object.entries(TABLE_COLUMNS)) {
      const have = new Set((db.pragma(`table_info(${table})`) as { name: string }[]).map((c) => c.name));
      const missing = columns.filter((c) => !have.has(c));
      if (missing.length > 0) throw new Error(`its table ${table} is not a run store's (no column ${missing.join(', ')})`);
    }
    return db;
  } catch (error) {
    db?.close();
    const why = error instanceof Error ? error.message : String(error);
    throw new TributaryError('CONFIG_INVALID', `invalid sqliteRunStore options: runStore.file: cannot open ${JSON.stringify(file)} as an SQLite database (${why})`, {
      issues: [{ path: 'runStore.file', message: `cannot be opened: ${why}` }],
      cause: error,
    });
  }
}

/**
 * Creates a store's file readable by its owner only (0600, as the command line writes a
 * recording): it holds rows and the principals' claims. SQLite gives the -wal and -shm files
 * the database's mode. A file already there keeps its own; any other failure is left to the
 * driver to report.
 */
function createPrivately(file: string): void {
  try {
    closeSync(openSync(file, 'wx', 0o600));
  } catch {
    // EEXIST (kept as it is), or a path the driver will refuse with its own message.
  }
}

function infoOf(row: RunRow): StoredRunInfo {
  return {
    runId: row.run_id,
    queryId: row.query_id,
    principalId: row.principal_id ?? undefined,
    state: row.state,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    fragments: row.fragments,
    stored: row.stored,
    leaseOwner: row.lease_owner ?? undefined,
    leaseExpiresAt: row.lease_expires_at ?? undefined,
  };
}
