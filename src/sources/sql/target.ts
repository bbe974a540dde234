import type { ErrorIssue } from '../../errors.js';
import { TributaryError } from '../../errors.js';

/** The connection fields `assertConnectionTarget` reads from a SQL source's options. */
export interface ConnectionFields {
  url?: string | undefined;
  connectionString?: string | undefined;
  user?: string | undefined;
  /** Optional: the source's name in messages. */
  name?: string | undefined;
}

/** The user name in a connection URL, or undefined when it names none (or is not a URL). */
function urlUser(url: string | undefined): string | undefined {
  if (url === undefined) return undefined;
  try {
    const user = decodeURIComponent(new URL(url).username);
    return user === '' ? undefined : user;
  } catch {
    return undefined;
  }
}

/** The URL schemes each driver reads a connection URL with. */
const SCHEMES: Record<'postgres' | 'mysql', readonly string[]> = {
  postgres: ['postgres:', 'postgresql:', 'socket:'],
  mysql: ['mysql:', 'mariadb:'],
};

/**
 * Why `url` cannot be this kind's connection URL (another database's or a web URL: sources
 * mixed up in a config), or undefined. PostgreSQL also takes a socket directory (`/run/…`).
 */
function wrongScheme(kind: 'postgres' | 'mysql', url: string): string | undefined {
  if (kind === 'postgres' && url.startsWith('/')) return undefined;
  let protocol: string;
  try {
    protocol = new URL(url).protocol;
  } catch {
    return `url is not a connection URL; write ${kind === 'postgres' ? 'postgres://user@host:5432/db' : 'mysql://user@host:3306/db'}`;
  }
  if (SCHEMES[kind].includes(protocol)) return undefined;
  return `url starts with ${protocol}//, not ${SCHEMES[kind].filter((s) => s !== 'socket:').map((s) => `${s}//`).join(' or ')} (the url of another kind of source?)`;
}

/**
 * Checks, when a SQL source is created, that it knows where to connect and as whom, so a
 * missing setting fails at once and says which option, instead of at the first query with
 * the driver's words (`no PostgreSQL user name specified in startup packet`):
 *
 * - `url: undefined` written out (typically an unset environment variable) is an error, and
 *   so is a url of another scheme (`mysql://` for PostgreSQL, `https://`) or no URL at all;
 * - a user must come from the URL, `user`, or where the driver looks itself: PostgreSQL's
 *   `PGUSER` / `USER` environment variables (mysql2 looks nowhere).
 *
 * Throws CONFIG_INVALID with issues at `options.url` / `options.user`.
 */
export function assertConnectionTarget(kind: 'postgres' | 'mysql', given: object, options: ConnectionFields, env: NodeJS.ProcessEnv = process.env): void {
  const source = `${kind} source${options.name === undefined ? '' : ` "${options.name}"`}`;
  const issues: ErrorIssue[] = [];
  const scheme = typeof options.url === 'string' ? wrongScheme(kind, options.url) : undefined;
  if (Object.hasOwn(given, 'url') && (given as { url?: unknown }).url === undefined) {
    issues.push({ path: 'options.url', message: `${source}: url is undefined (an unset environment variable?); give a connection URL, or leave url out and give host and user` });
  } else if (scheme !== undefined) {
    issues.push({ path: 'options.url', message: `${source}: ${scheme}` });
  } else {
    const envUser = kind === 'postgres' ? (env.PGUSER ?? (process.platform === 'win32' ? env.USERNAME : env.USER)) : undefined;
    const user = options.user ?? urlUser(options.url) ?? urlUser(options.connectionString) ?? envUser;
    if (user === undefined || user === '') {
      const where = kind === 'postgres' ? 'in the url, in user, or in the PGUSER environment variable' : 'in the url (mysql://user@host/db) or in user';
      issues.push({ path: options.url === undefined ? 'options.user' : 'options.url', message: `${source}: no user name to connect as; give one ${where}` });
    }
  }
  if (issues.length > 0) {
    throw new TributaryError('CONFIG_INVALID', `invalid ${kind}Source options: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`, { issues });
  }
}
