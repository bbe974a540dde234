import { afterEach, describe, expect, it, vi } from 'vitest';
import { isTributaryError, mysqlSource, postgresSource } from '../../../src/index.js';

/** What creating a source throws, as [path, message] pairs (fails the test if it does not throw). */
function configIssues(create: () => { close(): Promise<void> }): [string, string][] {
  try {
    void create().close();
  } catch (error) {
    if (isTributaryError(error, 'CONFIG_INVALID')) return error.issues.map((i) => [i.path, i.message]);
    throw error;
  }
  return expect.fail('expected CONFIG_INVALID');
}

describe('SQL sources check where to connect, and as whom, when they are created', () => {
  afterEach(() => vi.unstubAllEnvs());

  it('url: undefined (an unset environment variable) names the option and the source', () => {
    const env: Record<string, string | undefined> = {};
    expect(configIssues(() => postgresSource({ url: env.SHOP_URL, name: 'shop' }))).toEqual([
      ['options.url', 'postgres source "shop": url is undefined (an unset environment variable?); give a connection URL, or leave url out and give host and user'],
    ]);
    expect(configIssues(() => mysqlSource({ url: env.CATALOG_URL }))[0]?.[0]).toBe('options.url');
  });

  it("a url of another kind of source, or no URL at all, is CONFIG_INVALID naming what was written", () => {
    expect(configIssues(() => postgresSource({ url: 'mysql://root@127.0.0.1:3306/test', name: 'shop' }))).toEqual([
      ['options.url', 'postgres source "shop": url starts with mysql://, not postgres:// or postgresql:// (the url of another kind of source?)'],
    ]);
    expect(configIssues(() => mysqlSource({ url: 'postgres://app@127.0.0.1/test' }))).toEqual([
      ['options.url', 'mysql source: url starts with postgres://, not mysql:// or mariadb:// (the url of another kind of source?)'],
    ]);
    expect(configIssues(() => mysqlSource({ url: 'https://root@db.example/test' }))[0]?.[1]).toContain('url starts with https://');
    expect(configIssues(() => postgresSource({ url: 'shop-db' }))).toEqual([['options.url', 'postgres source: url is not a connection URL; write postgres://user@host:5432/db']]);
    vi.stubEnv('PGUSER', 'app');
    for (const ok of ['postgres://app@127.0.0.1/test', 'postgresql://app@127.0.0.1/test', 'socket:/run/postgresql?db=test', '/run/postgresql']) void postgresSource({ url: ok }).close();
    for (const ok of ['mysql://root@127.0.0.1/test', 'mariadb://root@127.0.0.1/test']) void mysqlSource({ url: ok }).close();
  });

  it('PostgreSQL: a user from the URL, user, PGUSER or USER; none at all is CONFIG_INVALID', () => {
    vi.stubEnv('PGUSER', undefined);
    vi.stubEnv('USER', undefined);
    vi.stubEnv('USERNAME', undefined);
    expect(configIssues(() => postgresSource({ host: '127.0.0.1', name: 'shop' }))).toEqual([
      ['options.user', 'postgres source "shop": no user name to connect as; give one in the url, in user, or in the PGUSER environment variable'],
    ]);
    expect(configIssues(() => postgresSource({ url: 'postgres://127.0.0.1/test' }))[0]?.[0]).toBe('options.url');
    for (const ok of [{ url: 'postgres://app@127.0.0.1/test' }, { host: '127.0.0.1', user: 'app' }]) void postgresSource(ok).close();
    vi.stubEnv('PGUSER', 'app');
    void postgresSource({ host: '127.0.0.1' }).close();
  });

  it('MariaDB/MySQL: a user from the URL or user (mysql2 reads no environment)', () => {
    vi.stubEnv('USER', 'someone');
    expect(configIssues(() => mysqlSource({ host: '127.0.0.1' }))).toEqual([
      ['options.user', 'mysql source: no user name to connect as; give one in the url (mysql://user@host/db) or in user'],
    ]);
    expect(configIssues(() => mysqlSource({ url: 'mysql://127.0.0.1:3306/test' }))[0]?.[0]).toBe('options.url');
    void mysqlSource({ url: 'mysql://root@127.0.0.1:3306/test' }).close();
  });
});
