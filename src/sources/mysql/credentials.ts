import type { PoolOptions } from 'mysql2';
import { TributaryError } from '../../errors.js';
import type { Principal } from '../source.js';
import type { MysqlPool } from './pool.js';

/** The database account a principal's statements run as. */
export interface MysqlCredentials {
  user: string;
  password?: string;
}

/**
 * `mysqlSource({ credentials })`: the account for a principal, or undefined for the
 * source's own, or a promise of either (a password read from a vault). Called for every
 * statement with the run's principal (undefined: anonymous).
 */
export type MysqlCredentialsFor = (principal: Principal | undefined) => MysqlCredentials | undefined | Promise<MysqlCredentials | undefined>;

/** A call's pool, and what to call when the call is over. */
export interface PoolLease {
  pool: MysqlPool;
  done(): void;
}

/** Pools per account kept open at once by default (`maxPrincipalPools`). */
export const DEFAULT_MAX_PRINCIPAL_POOLS = 8;

/** The account for one call, checked; undefined: the source's own pool. */
export async function credentialsFor(fn: MysqlCredentialsFor, principal: Principal | undefined, source: string): Promise<MysqlCredentials | undefined> {
  let answer: unknown;
  try {
    answer = await fn(principal);
  } catch (error) {
    throw new TributaryError('FRAGMENT_FAILED', `mysql source ${source}: the credentials option threw: ${error instanceof Error ? error.message : String(error)}`, { cause: error, retryable: false });
  }
  if (answer === undefined) return undefined;
  const c = answer as Partial<MysqlCredentials> | null;
  if (typeof c !== 'object' || c === null || typeof c.user !== 'string' || c.user === '' || (c.password !== undefined && typeof c.password !== 'string')) {
    // Never echo the answer: it may hold a password.
    throw new TributaryError('FRAGMENT_FAILED', `mysql source ${source}: the credentials option must return { user, password? } or undefined`, { retryable: false });
  }
  return { user: c.user, ...(c.password === undefined ? {} : { password: c.password }) };
}

/** The pool options for another account: the same server, database and policy, its own user. */
export function configFor(base: PoolOptions, credentials: MysqlCredentials): PoolOptions {
  const password = credentials.password ?? '';
  if (base.uri === undefined) return { ...base, user: credentials.user, password };
  // mysql2 lets the URL's user and password fill options left empty, so they go in the URL.
  const url = new URL(base.uri);
  url.username = encodeURIComponent(credentials.user);
  url.password = encodeURIComponent(password);
  const { user: _user, password: _password, ...rest } = base;
  return { ...rest, uri: url.href };
}

interface Entry {
  pool: MysqlPool;
  busy: number;
  retired: boolean;
}

/**
 * One pool per account, at most `max` open: using an account makes it the most recent, and
 * opening one past the bound retires the least recently used, which closes as soon as its
 * running calls are done (never under them).
 */
export class PrincipalPools {
  readonly #open = new Map<string, Entry>();
  readonly #closing = new Set<Promise<void>>();
  readonly #max: number;
  readonly #openPool: (credentials: MysqlCredentials) => MysqlPool;

  constructor(max: number, openPool: (credentials: MysqlCredentials) => MysqlPool) {
    this.#max = max;
    this.#openPool = openPool;
  }

  /** Accounts with an open pool, least recently used first. */
  get users(): string[] {
    return [...this.#open.keys()].map((k) => (JSON.parse(k) as [string, string])[0]);
  }

  /** The account's pool for one call; `done()` when the call is over. */
  lease(credentials: MysqlCredentials): PoolLease {
    const key = JSON.stringify([credentials.user, credentials.password ?? '']);
    let entry = this.#open.get(key);
    if (entry) this.#open.delete(key);
    else entry = { pool: this.#openPool(credentials), busy: 0, retired: false };
    this.#open.set(key, entry);
    while (this.#open.size > this.#max) {
      const [oldest, old] = this.#open.entries().next().value as [string, Entry];
      this.#open.delete(oldest);
      old.retired = true;
      if (old.busy === 0) this.#close(old);
    }
    const leased = entry;
    leased.busy++;
    let returned = false;
    return {
      pool: leased.pool,
      done: () => {
        if (returned) return;
        returned = true;
        leased.busy--;
        if (leased.retired && leased.busy === 0) this.#close(leased);
      },
    };
  }

  #close(entry: Entry): void {
    const closing = entry.pool.life.close().catch(() => undefined);
    this.#closing.add(closing);
    void closing.then(() => this.#closing.delete(closing));
  }

  /** Closes every pool (running calls are the executor's to stop first). */
  async close(): Promise<void> {
    for (const entry of this.#open.values()) this.#close(entry);
    this.#open.clear();
    await Promise.all([...this.#closing]);
  }
}
