// MySQL's and MariaDB's bounded reads: a module of the sql driver (driver.js), written beside it
// for the child, embedded in execd as text. Bun's MySQL client holds a whole result (no cursor,
// no row stream), so what bounds an answer is the server's: `sql_select_limit` on a top-level
// SELECT's rows.
import { SQL } from 'bun'
import { wireRelay } from './mysql-wire.js'

/** Ends the statement running on connection `id`; the connection and its session stay. */
export async function killQuery({ dsn, id }) {
  const other = new SQL(dsn, { max: 1, connectionTimeout: 5 })
  try {
    await other.unsafe(`KILL QUERY ${id}`)
  } catch {
    // Finished meanwhile, or the server refuses: the interrupt's escalation still ends the cell.
  } finally {
    await other.close({ timeout: 0 })
  }
}

/**
 * `read(stmt)` (a query) under `sql_select_limit` at `limit` (subqueries, INSERT … SELECT and
 * stored routines are not affected), the session's value put back after; its own lower one kept.
 * The value is kept in a variable of the session's and the limit set in one statement, where it
 * was read and then set in two: every statement of a cell crosses the relay (mysql-wire.js).
 * IF, not LEAST, which made the unsigned default (2^64 - 1) a limit of 0.
 */
async function underLimit(server, limit, read) {
  await server.unsafe(
    `SET @execd_select_limit = @@SESSION.sql_select_limit, SESSION sql_select_limit = ` +
      `IF(@@SESSION.sql_select_limit > ${limit}, ${limit}, @@SESSION.sql_select_limit)`,
  )
  const restore = () => server.unsafe('SET SESSION sql_select_limit = @execd_select_limit')
  try {
    return await read()
  } finally {
    // An interrupt's KILL QUERY, sent from another connection, can land on this SET instead.
    await restore().catch(restore)
  }
}

/** The query `stmt` read by `read(stmt, maxRows)` under the select limit: the row limit and one more. */
export const underSelectLimit = (server, read, stmt, maxRows) =>
  underLimit(server, BigInt(maxRows) + 1n, () => read(stmt, maxRows))

/**
 * Errors of `CREATE TEMPORARY TABLE … AS` met before its query runs: what a table refuses
 * (repeated, empty or long names, too many or too wide columns, an engine without blobs), a
 * read-only transaction or server, no database, no privilege, a name taken, a statement that
 * cannot be a table's source (SELECT … INTO: a syntax error there).
 */
const REFUSED = new Set([1044, 1046, 1050, 1059, 1060, 1064, 1074, 1117, 1118, 1142, 1163, 1166, 1290, 1792])

let tables = 0

/**
 * A locking query (FOR UPDATE, LOCK IN SHARE MODE) run once into a temporary table, which is read
 * under the select limit: the client held every locked row to show 10,000 (2 million rows took
 * this process to 385 MiB). Under the select limit the scan stops early, and so would the locks
 * (stop 50), so the query runs whole, as a table's source. First under a select limit of 0,
 * which reads no row (so locks none), for its own columns: their names, and which are JSON (a
 * table's copy is text). Then, under the same limit (a table's source is not bounded by it),
 * `CREATE TEMPORARY TABLE` (no implicit commit: the session's transaction, its locks and its
 * rollback stay as the query's) with a column of our own first that keeps the query's order.
 * What either refuses ran nothing: undefined, and the query runs as it is, read whole (after an
 * interrupt: not at all). Else an error is the query's own.
 */
export async function throughTemporary({ server, sent, read, stopped }, stmt, maxRows) {
  const [[was]] = await server.unsafe('SELECT @@SESSION.sql_select_limit').values()
  const limit = n => server.unsafe(`SET SESSION sql_select_limit = ${n}`)
  const table = `execd_rows_${++tables}`
  const drop = () => server.unsafe(`DROP TEMPORARY TABLE IF EXISTS ${table}`)
  let made = false
  await limit(0)
  try {
    let own
    try {
      own = (await sent(server.unsafe(stmt).values())).columns ?? []
    } catch (e) {
      if (e?.errno === undefined) throw e
      return undefined
    }
    // A column of the name would be ours, its values our order.
    if (stopped() || own.some(c => c.name.toLowerCase() === 'execd_row_order')) return undefined
    try {
      await sent(
        server.unsafe(
          `CREATE TEMPORARY TABLE ${table} (execd_row_order BIGINT AUTO_INCREMENT PRIMARY KEY) AS\n${stmt}`,
        ),
      )
      // Only then: a failed CREATE leaves no table, and one of the name (1050) is the user's.
      made = true
    } catch (e) {
      if (REFUSED.has(e?.errno)) return undefined
      throw e
    }
    const json = own.map(c => c.type === JSON_TYPE)
    const shape = values => values.slice(1).map((v, i) => (json[i] && typeof v === 'string' ? JSON.parse(v) : v))
    // The session's own lower limit stays its own.
    const bound = BigInt(maxRows) + 1n
    await limit(BigInt(was) < bound ? was : bound)
    const outcome = await read(`SELECT * FROM ${table} ORDER BY execd_row_order`, maxRows, shape)
    return { ...outcome, columns: own.map(c => c.name) }
  } finally {
    // An interrupt's KILL QUERY, sent from another connection, can land on either instead.
    const restore = () => limit(was)
    await restore().catch(restore)
    if (made) await drop().catch(drop)
  }
}

/** MYSQL_TYPE_JSON: Bun's client parses such a column's text. */
const JSON_TYPE = 245

/**
 * A MySQL DSN through a relay of ours (mysql-wire.js) to its server: one on TCP, not asking for
 * TLS (the relay cannot read what it encrypts) or naming a socket; else the DSN as it is, no relay.
 */
export async function relayed(dsn) {
  const url = new URL(dsn)
  if (!url.hostname || /ssl|tls|socket|path/i.test(url.search)) return { dsn, wire: undefined }
  const wire = await wireRelay(url.hostname.replace(/^\[|\]$/g, ''), Number(url.port || 3306))
  url.hostname = '127.0.0.1'
  url.port = String(wire.port)
  return { dsn: url.toString(), wire }
}
