import type { CustomTypesConfig } from 'pg';
import { z } from 'zod';
import { sqlSourceOptionsShape } from '../sql/options.js';
import type { PostgresRole } from './role.js';

const fn = z.custom<(...args: any[]) => any>((v) => typeof v === 'function', 'expected a function');
const ms = z.number().int().nonnegative();

/**
 * `postgresSource` options: `url` (or `connectionString`) or the pg PoolConfig fields, plus
 * tributary's own. Strict: an unknown key (a typo) is CONFIG_INVALID. `types` may carry
 * the app's own parsers; the values policy's types (int8, date, timestamps, numeric[])
 * still win.
 */
export const postgresOptionsSchema = z
  .strictObject({
    ...sqlSourceOptionsShape,
    /** Rows per cursor read when a caller streams (`run.rows()`). Default 1000. */
    streamBatchSize: z.number().int().positive().optional(),
    /**
     * How often (ms) the server checks, while a statement runs, that the client is still
     * connected (`client_connection_check_interval`, PostgreSQL 14+): a killed process's
     * statement stops within about that long. Default 1000; `false` or 0: off.
     */
    connectionCheckMs: z.union([z.literal(false), ms.max(2_147_483_647)]).optional(),
    /**
     * `(principal) => role | undefined`: each statement of that principal runs under
     * `SET LOCAL ROLE` in a transaction, so grants and row-level security apply per
     * principal. Forces `cacheScope: 'principal'`. See README "Access control".
     */
    role: z.custom<PostgresRole>((v) => typeof v === 'function', 'role must be a function (principal) => role name | undefined').optional(),
    /** Allowed so a sources.json entry can be passed as is. */
    kind: z.literal('postgres').optional(),
    connectionString: z.string().min(1).optional(),
    host: z.string().min(1).optional(),
    port: z.number().int().min(1).max(65535).optional(),
    user: z.string().optional(),
    password: z.union([z.string(), fn]).optional(),
    database: z.string().optional(),
    ssl: z.union([z.boolean(), z.record(z.string(), z.unknown())]).optional(),
    sslnegotiation: z.enum(['postgres', 'direct']).optional(),
    enableChannelBinding: z.boolean().optional(),
    keepAlive: z.boolean().optional(),
    keepAliveInitialDelayMillis: ms.optional(),
    statement_timeout: z.union([z.literal(false), ms]).optional(),
    query_timeout: ms.optional(),
    lock_timeout: ms.optional(),
    idle_in_transaction_session_timeout: ms.optional(),
    application_name: z.string().optional(),
    fallback_application_name: z.string().optional(),
    connectionTimeoutMillis: ms.optional(),
    options: z.string().optional(),
    client_encoding: z.string().optional(),
    stream: fn.optional(),
    types: z.custom<CustomTypesConfig>((v) => typeof (v as CustomTypesConfig | null)?.getTypeParser === 'function').optional(),
    max: z.number().int().positive().optional(),
    min: z.number().int().nonnegative().optional(),
    idleTimeoutMillis: ms.nullable().optional(),
    allowExitOnIdle: z.boolean().optional(),
    maxUses: z.number().int().positive().optional(),
    maxLifetimeSeconds: z.number().int().nonnegative().optional(),
    log: fn.optional(),
  })
  .refine((o) => o.role === undefined || o.cacheScope !== 'shared', {
    message: "a source with a role answers per principal: it cannot be cacheScope 'shared'",
    path: ['cacheScope'],
  })
  .refine((o) => o.url === undefined || o.connectionString === undefined, {
    message: 'give url or connectionString, not both',
    path: ['url'],
  });
export type PostgresSourceOptions = z.input<typeof postgresOptionsSchema>;
