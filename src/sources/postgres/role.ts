import pg from 'pg';
import type { PoolClient } from 'pg';
import { TributaryError } from '../../errors.js';
import type { Principal } from '../source.js';

/**
 * `postgresSource({ role })`: the database role a principal's statements run as, or
 * undefined for the pool's own user. Called for every statement, with the run's principal
 * (undefined for an anonymous run).
 */
export type PostgresRole = (principal: Principal | undefined) => string | undefined;

/**
 * A pooled connection lent to one statement, with the `statement_timeout` it runs under
 * (`limitMs`, none: undefined; postgres/budget.ts). With a role, the lease is a transaction:
 * `BEGIN; SET LOCAL ROLE "<role>"`, and `release()` ends it with `COMMIT` (which rolls back a
 * transaction a failed statement aborted) before the connection goes back to the pool. The
 * role is never reset by hand: the transaction's end does it, so a connection back in the
 * pool is always the pool's own user. `release(error)` destroys the connection instead
 * (a statement abandoned mid-flight), which ends the transaction with it.
 *
 * `release()` returns undefined when the connection is back at once (no transaction to end:
 * the point-query path then settles without another promise), else a promise of it.
 * Idempotent. The connector mutes the client's `error` events for as long as it lives.
 */
export interface PgLease {
  readonly client: PoolClient;
  readonly limitMs: number | undefined;
  release(destroy?: Error): Promise<void> | undefined;
}

/** A lease without a role: the connection as the pool gave it. */
export class PlainLease implements PgLease {
  readonly client: PoolClient;
  readonly limitMs: number | undefined;
  #released = false;

  constructor(client: PoolClient, limitMs: number | undefined) {
    this.client = client;
    this.limitMs = limitMs;
  }

  release(destroy?: Error): undefined {
    if (this.#released) return;
    this.#released = true;
    this.client.release(destroy);
  }
}

/** The role a principal maps to, checked (a non-empty name without NUL); undefined: none. */
export function roleFor(role: PostgresRole | undefined, principal: Principal | undefined, source: string): string | undefined {
  if (role === undefined) return undefined;
  let name: unknown;
  try {
    name = role(principal);
  } catch (error) {
    throw new TributaryError('FRAGMENT_FAILED', `postgres source ${source}: the role option threw: ${error instanceof Error ? error.message : String(error)}`, { cause: error, retryable: false });
  }
  if (name === undefined) return undefined;
  if (typeof name !== 'string' || name === '' || name.includes('\0')) {
    throw new TributaryError('FRAGMENT_FAILED', `postgres source ${source}: the role option must return a role name or undefined, got ${typeof name === 'string' ? JSON.stringify(name) : typeof name}`, { retryable: false });
  }
  return name;
}

/**
 * Lends `client` to one statement, as `role` when given (see PgLease): synchronous without
 * one. A role that does not exist, or that the pool's user may not become, fails with a
 * non-retryable FRAGMENT_FAILED naming the role, and the connection goes back to the pool
 * unchanged. `setLocal` (the statement's `SET LOCAL statement_timeout`, postgres/budget.ts)
 * travels in the same message as the `SET LOCAL ROLE`, so it costs no extra round trip and
 * the transaction's end undoes it too.
 */
export function leaseAs(client: PoolClient, role: string | undefined, source: string, limitMs: number | undefined, setLocal?: string): PgLease | Promise<PgLease> {
  if (role === undefined) return new PlainLease(client, limitMs);
  return roleLease(client, role, source, limitMs, setLocal);
}

async function roleLease(client: PoolClient, role: string, source: string, limitMs: number | undefined, setLocal: string | undefined): Promise<PgLease> {
  let released = false;
  const giveBack = (destroy?: Error): void => {
    if (released) return;
    released = true;
    client.release(destroy);
  };
  try {
    await client.query('BEGIN');
    await client.query(`SET LOCAL ROLE ${pg.escapeIdentifier(role)}${setLocal === undefined ? '' : `; ${setLocal}`}`);
  } catch (error) {
    await endTransaction(client, 'ROLLBACK').then(
      () => giveBack(),
      (e: unknown) => giveBack(e as Error),
    );
    if (!(error instanceof pg.DatabaseError)) throw error;
    const message = `postgres source ${source}: cannot run as role ${JSON.stringify(role)}: ${error.message}`;
    throw new TributaryError('FRAGMENT_FAILED', message, { cause: error, retryable: false, ...(error.code ? { driverCode: error.code } : {}) });
  }
  const commit = async (): Promise<void> => {
    try {
      await endTransaction(client, 'COMMIT');
    } catch (error) {
      giveBack(error as Error);
      throw error;
    }
    giveBack();
  };
  return {
    client,
    limitMs,
    release: (destroy) => {
      if (released) return undefined;
      if (!destroy) return commit();
      giveBack(destroy);
      return undefined;
    },
  };
}

async function endTransaction(client: PoolClient, statement: 'COMMIT' | 'ROLLBACK'): Promise<void> {
  await client.query(statement);
}
