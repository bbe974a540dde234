import { z } from 'zod';
import { sqlSourceOptionsShape } from '../sql/options.js';
import type { MysqlCredentialsFor } from './credentials.js';

const ms = z.number().int().nonnegative();

/**
 * `mysqlSource` options: `url` (`mysql://user:pass@host:3306/db`) or the mysql2 pool fields
 * below, plus tributary's own. Strict: an unknown key is CONFIG_INVALID, and so are the
 * options the values policy owns (`supportBigNumbers`, `dateStrings`, `timezone`,
 * `typeCast`, `namedPlaceholders`, ...), which mysqlSource sets itself.
 */
export const mysqlOptionsSchema = z.strictObject({
  ...sqlSourceOptionsShape,
  /** Allowed so a sources.json entry can be passed as is. */
  kind: z.literal('mysql').optional(),
  host: z.string().min(1).optional(),
  port: z.number().int().min(1).max(65535).optional(),
  socketPath: z.string().min(1).optional(),
  localAddress: z.string().optional(),
  user: z.string().optional(),
  password: z.string().optional(),
  database: z.string().optional(),
  charset: z.string().optional(),
  ssl: z.union([z.string(), z.record(z.string(), z.unknown())]).optional(),
  connectTimeout: ms.optional(),
  enableKeepAlive: z.boolean().optional(),
  keepAliveInitialDelay: ms.optional(),
  compress: z.boolean().optional(),
  flags: z.union([z.string(), z.array(z.string())]).optional(),
  connectAttributes: z.record(z.string(), z.string()).optional(),
  authPlugins: z.record(z.string(), z.unknown()).optional(),
  enableCleartextPlugin: z.boolean().optional(),
  insecureAuth: z.boolean().optional(),
  disableEval: z.boolean().optional(),
  connectionLimit: z.number().int().positive().optional(),
  queueLimit: ms.optional(),
  waitForConnections: z.boolean().optional(),
  idleTimeout: ms.optional(),
  maxIdle: ms.optional(),
  /** Prepared statements cached per connection (default 100; see the note on execute()). */
  maxPreparedStatements: z.number().int().positive().optional(),
  /** Rows per batch when a caller streams (`run.rows()`). Default 1000. */
  streamBatchSize: z.number().int().positive().optional(),
  /**
   * `(principal) => ({ user, password? }) | undefined`: the account a principal's statements
   * run as, through one small pool per account (undefined: the source's own). Forces
   * `cacheScope: 'principal'`. See README "Access control".
   */
  credentials: z.custom<MysqlCredentialsFor>((v) => typeof v === 'function', 'credentials must be a function (principal) => ({ user, password }) | undefined').optional(),
  /** Per-account pools open at once with `credentials` (default 8); the least recently used closes. */
  maxPrincipalPools: z.number().int().positive().optional(),
}).refine((o) => o.credentials === undefined || o.cacheScope !== 'shared', {
  message: "a source with credentials per principal answers per principal: it cannot be cacheScope 'shared'",
  path: ['cacheScope'],
});
export type MysqlSourceOptions = z.input<typeof mysqlOptionsSchema>;

