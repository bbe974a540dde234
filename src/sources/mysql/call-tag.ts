import type { RowDataPacket } from 'mysql2';
import type { Connection } from 'mysql2/promise';

/** What a call tag may be: it is written into the statement text, so nothing that could end a comment. */
const TAG = /^[A-Za-z0-9-]{1,64}$/;

/**
 * The statement text carrying the call's tag (`ExecuteContext.callTag`) as a leading comment,
 * `/* tributary call <tag> *\/ <sql>`, which the server keeps in
 * `information_schema.PROCESSLIST.INFO`; the text unchanged without a valid tag. Each tagged
 * text is distinct, so it is prepared on its connection for this call alone.
 */
export function taggedSql(sql: string, tag: string | undefined): string {
  return tag !== undefined && TAG.test(tag) ? `/* tributary call ${tag} */ ${sql}` : sql;
}

/**
 * Stops the statements tagged `tag` that run on the server (MariaDB), from `side`, a
 * connection of the same account (which sees and may kill its own threads): how many.
 *
 * Each is stopped by `KILL QUERY ID <query id>`, never by thread id: a query id names one
 * statement for the server's life, so a statement that ended meanwhile, and whatever its
 * thread runs next, are left alone (the KILL then fails "Unknown query id", ignored). The
 * search pattern is built by CONCAT so that this search's own text (in PROCESSLIST too, and
 * a concurrent reaper's) does not carry the tag. MySQL has no `KILL QUERY ID`: there it
 * stops nothing (its statements carry their budget as MAX_EXECUTION_TIME).
 */
export async function stopTaggedOn(side: Connection, tag: string): Promise<number> {
  if (!TAG.test(tag)) return 0;
  const [version] = await side.query<({ v: string } & RowDataPacket)[]>('SELECT VERSION() AS v');
  if (!/mariadb/i.test(String(version[0]?.v))) return 0;
  const [running] = await side.query<({ q: unknown } & RowDataPacket)[]>(
    "SELECT QUERY_ID AS q FROM information_schema.PROCESSLIST WHERE ID <> CONNECTION_ID() AND COMMAND <> 'Sleep' AND INFO LIKE CONCAT('%/* tributary call ', ?, ' */%')",
    [tag],
  );
  let stopped = 0;
  for (const { q } of running) {
    const queryId = String(q);
    // An integer the server gave; KILL cannot be prepared, so it is written in, checked.
    if (!/^\d{1,20}$/.test(queryId)) continue;
    try {
      await side.query(`KILL QUERY ID ${queryId}`);
      stopped++;
    } catch {
      // It ended between the search and the KILL: nothing to stop.
    }
  }
  return stopped;
}
