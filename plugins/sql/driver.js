// The database connection of one sql context, in a child process of execd: the execd
// executable acting as Bun runs this file (embedded in execd as text, written to a private temp
// dir). Embedded SQLite (bun:sqlite) or a PostgreSQL / MySQL server (Bun's SQL client).
// execd can kill a process; a Worker thread stuck in one long SQLite step it could not stop
// (bun:sqlite has no sqlite3_interrupt), and the thread kept a core busy after its context. A
// server's client loads a whole result before any row limit applies (Bun's SQL has no
// cursor): 3 million rows grew execd by 430 MiB, one 100 MB value froze it for 10 s. Here such
// a result costs this process only, and only a bounded result crosses to execd; a query
// (SELECT, WITH, VALUES, TABLE) is also bounded on the server, so rows past the limit are not
// sent (`query`).
// Protocol: Bun IPC, JSON messages; values go out as the JSON cells of a result (cells.js).
//   parent → child: {id, op: 'open', path} | {id, op: 'connect', dsn} | {id, op: 'exec', stmt,
//                   maxRows, keyword (its first, split.ts firstKeyword)} (a long stmt's text
//                   before its last 256 Ki characters comes ahead as {op: 'piece', text}s) |
//                   {id, op: 'close'} |
//                   {op: 'interrupt'} (SQLite: seen between rows,
//                   the row loop (sqlite.js) yields to the event loop every 256 rows, one long step
//                   is ended by killing the child; a server: its query is cancelled — MySQL's
//                   client cannot, so a second connection sends KILL QUERY for ours).
//   child → parent: {id, ok: true, ...} | {id, ok: false, error: {message, code, interrupted,
//                   errno, detail, hint}}.
import { SQL } from 'bun'
import { Database } from 'bun:sqlite'
import { MAX_RESULT_CHARS, severalResults, take } from './cells.js'
import { INTERRUPTED, execute } from './sqlite.js'
import { cutQuery, gone, keptCursor, keptTable, keptWrite, merged, wideTypes } from './statements.js'
import { killQuery, relayed, throughTemporary, underSelectLimit } from './mysql.js'

const proc = process
let db
let server
let inflight
/** MySQL: the DSN and our connection's id, for KILL QUERY from a second connection. */
let mysql
/** MySQL: the relay between the client and the server that bounds each result (mysql-wire.js). */
let wire
let stop = false
/** The pieces of a long statement come so far. */
let pieces = []

proc.on('disconnect', () => proc.exit(0))
proc.on('message', async m => {
  if (m?.op === 'interrupt') {
    stop = true
    if (inflight && mysql) return void killQuery(mysql)
    return void inflight?.cancel()
  }
  // A long statement's pieces come first (child.ts), then its exec with the last of it.
  if (m?.op === 'piece') return void pieces.push(m.text)
  if (m?.op === 'exec' && pieces.length > 0) {
    pieces.push(m.stmt)
    m.stmt = pieces.join('')
    pieces = []
  }
  try {
    if (m.op === 'open') {
      db = new Database(m.path, { create: true, safeIntegers: true })
      proc.send({ id: m.id, ok: true, version: db.query('SELECT sqlite_version() AS v').get().v })
    } else if (m.op === 'connect') {
      // One connection: session state (SET, temporary tables, transactions) lasts the context.
      // bigint: int8 as BigInt, which `cell` turns into a number when it fits.
      const mysqlDsn = /^(mysql|mariadb):/i.test(m.dsn)
      server = new SQL(mysqlDsn ? await relayedDsn(m.dsn) : m.dsn, { max: 1, bigint: true })
      let version
      if (mysqlDsn) {
        // The version: which of a cell's executable comments (/*!50700 … */) the server runs.
        const [[id, text]] = await server.unsafe('SELECT CONNECTION_ID(), VERSION()').values()
        mysql = { dsn: m.dsn, id: String(id) }
        version = String(text)
      } else {
        await server.unsafe('SELECT 1')
      }
      proc.send({ id: m.id, ok: true, version })
    } else if (m.op === 'exec') {
      stop = false
      wire?.limit(m.maxRows + 1)
      const outcome = server
        ? await query(m.stmt, m.maxRows, m.keyword)
        : await execute(db, m.stmt, m.maxRows, () => stop)
      proc.send({ id: m.id, ok: true, outcome })
    } else if (m.op === 'close') {
      db?.close(false)
      db = undefined
      await server?.close({ timeout: 1 })
      server = undefined
      proc.send({ id: m.id, ok: true })
    }
  } catch (e) {
    const interrupted = e === INTERRUPTED || (stop && server !== undefined)
    const { message = String(e), code, errno, detail, hint } = e ?? {}
    proc.send({ id: m.id, ok: false, error: { message: String(message), code, errno, detail, hint, interrupted } })
  }
})
proc.send({ ready: true })

/**
 * One statement on the server: rows within the row limit and the budget, or the count it changed.
 * A query is read through a cursor (PostgreSQL) or under the session's select limit (MySQL), so
 * the server sends at most the row limit and one more. PostgreSQL's statements that must run
 * whole (RETURNING, a data-modifying WITH, a locking clause) put their rows in a table read the
 * same way (`throughTable`); MySQL's locking queries a temporary table read under the limit
 * (`throughTemporary`); PostgreSQL's EXECUTE of a prepared query a table too. Anything else
 * (SHOW, WHOLE, what a table refuses) is taken whole, as the client reads every result: on
 * MySQL through the relay that drops a result's rows past the limit (mysql-wire.js).
 */
async function query(stmt, maxRows, keyword) {
  const bounded = QUERIES.has(keyword) && !WHOLE.test(stmt) && !LOCKING.test(stmt)
  if (mysql && bounded) return underSelectLimit(server, readQuery, stmt, maxRows)
  if (mysql && QUERIES.has(keyword) && !WHOLE.test(stmt)) {
    const outcome = await throughTemporary({ server, sent, read: readQuery, stopped: () => stop }, stmt, maxRows)
    if (outcome) return outcome
    if (stop) throw INTERRUPTED
  }
  const fetch = !mysql && keyword === 'FETCH' ? FETCH.exec(stmt) : undefined
  if (fetch) return fetchOwn(stmt, fetch, maxRows)
  if (!mysql) {
    const cursor = bounded ? await throughCursor(stmt, maxRows) : undefined
    if (typeof cursor === 'object') return cursor
    // 0A000: DECLARE refused a data-modifying WITH. A write's rows are the WITH's of a query.
    // EXECUTE of a prepared query is no cursor's, but `CREATE TABLE … AS EXECUTE` takes it.
    const asQuery = (QUERIES.has(keyword) && (!bounded || cursor === '0A000')) || keyword === 'EXECUTE'
    const asWrite = /\bRETURNING\b/i.test(stmt) && (RETURNS.has(keyword) || keyword === 'WITH')
    const outcome =
      (asQuery ? await throughTable(stmt, maxRows, true) : undefined) ??
      (asWrite ? await throughTable(stmt, maxRows, false) : undefined)
    if (outcome) return outcome
  }
  outside = false
  return readAll(server.unsafe(stmt).values(), maxRows)
}

/** Statements a PostgreSQL cursor takes and MySQL's select limit bounds. */
const QUERIES = new Set(['SELECT', 'WITH', 'VALUES', 'TABLE'])
/** PostgreSQL's writes that may return rows, as a data-modifying WITH's part. */
const RETURNS = new Set(['INSERT', 'UPDATE', 'DELETE'])

/**
 * Queries whose meaning lies past the rows read. A locking clause locks the rows a cursor
 * fetches or a limited scan reaches: SELECT … FOR UPDATE of 10,005 rows locked 10,001, and
 * another session took the rest; such a query runs whole into a table read as a query is
 * (`throughTable`, MySQL's `throughTemporary`). MySQL's `INTO OUTFILE` writes under the select
 * limit, and a query of the variable would see ours: WHOLE, run and read as they are. Matched
 * anywhere (a string, a comment), which only costs the bound.
 */
const LOCKING = /\bFOR\s+(?:NO\s+KEY\s+UPDATE|UPDATE|KEY\s+SHARE|SHARE)\b|\bLOCK\s+IN\s+SHARE\s+MODE\b/i
const WHOLE = /\bOUTFILE\b|\bsql_select_limit\b/i

/** PostgreSQL: a FETCH of a user's cursor forward by a count or all of it: its count and name. */
const FETCH = /^\s*FETCH\s+(?:FORWARD\s+)?(ALL|\d+)\s+(?:FROM\s+|IN\s+)?("(?:[^"]|"")+"|[A-Za-z_][\w$]*)\s*$/i

/**
 * A user's cursor read as ours are (`fetchRows`) to the row limit and one more, then moved by
 * what was asked and not read: `FETCH ALL` of 2 million rows took this process to 322 MiB, read
 * whole. It ends where the FETCH would have, its errors its own; a count within the limit is
 * read as it is.
 */
async function fetchOwn(stmt, [, count, name], maxRows) {
  const all = count.toUpperCase() === 'ALL'
  outside = false
  if (!all && BigInt(count) <= BigInt(maxRows) + 1n) return readAll(server.unsafe(stmt).values(), maxRows)
  const seen = { rows: 0 }
  const outcome = await fetchRows(name, maxRows, undefined, '', undefined, seen)
  const rest = all ? 'ALL' : (BigInt(count) - BigInt(seen.rows)).toString()
  if (seen.rows > 0 && rest !== '0') await sent(say(`MOVE FORWARD ${rest} FROM ${name}`))
  return outcome
}

/** A whole result, its rows cut to the limit and the budget here. */
async function readAll(pending, maxRows, shape = values => values) {
  const result = await sent(pending)
  // MariaDB answers a killed SLEEP() with a row: an interrupted statement is one, whatever came.
  if (stop) throw INTERRUPTED
  // Several results (a CALL of a procedure that SELECTs): a list of them, itself without a count.
  if (result.count === undefined && Array.isArray(result[0]))
    return severalResults(result, maxRows, index => wire?.cutIn(index) ?? false)
  const columns = (result.columns ?? []).map(c => c.name)
  if (columns.length === 0) return { affected: Number(result.affectedRows ?? result.count ?? 0) }
  const rows = []
  const budget = { left: MAX_RESULT_CHARS }
  for (const values of result) {
    if (rows.length === maxRows || !take(rows, shape(values), budget)) return { columns, rows, truncated: true }
  }
  // The relay dropped rows this result would not have shown: it says so.
  return { columns, rows, truncated: wire?.cut ?? false }
}

/** A MySQL DSN through the relay (mysql.js `relayed`), kept as the connection's `wire`. */
async function relayedDsn(dsn) {
  const through = await relayed(dsn)
  wire = through.wire
  return through.dsn
}

/** A query's rows, each `shape`d before it is taken. */
const readQuery = (stmt, maxRows, shape) => readAll(server.unsafe(stmt).values(), maxRows, shape)

/** A query the interrupt may cancel while the server runs it. */
async function sent(pending) {
  inflight = pending
  try {
    return await pending
  } finally {
    inflight = undefined
  }
}

/** Our own bookkeeping on the connection: simple protocol, nothing prepared or cached. */
const say = text => server.unsafe(text).simple()

let cursors = 0
/** PostgreSQL: our own COMMIT or ROLLBACK left the session outside a block, and nothing ran since. */
let outside = false

/**
 * PostgreSQL: the query as a cursor fetched in batches up to the row limit and one more, in the
 * transaction it would have had (`opened`). Rows past the limit are never computed, as a
 * client's row limit stops a portal (JDBC's maxRows). DECLARE only plans the query, so a
 * refusal (a data-modifying WITH, SELECT … INTO, an error of the statement itself) ran nothing:
 * its SQLSTATE, and the statement runs otherwise, once.
 */
async function throughCursor(stmt, maxRows) {
  const name = `execd_rows_${++cursors}`
  // The newline keeps a last `--` comment of the statement its own. FETCH 0 names the columns, running nothing.
  const declare = `DECLARE ${name} NO SCROLL CURSOR FOR`
  const { own, refused, described } = await opened(`${declare}\n${stmt}\n;\nFETCH FORWARD 0 FROM ${name}`)
  if (refused) return refused
  const wide = await wideTypes(described, say)
  const cut = cutQuery(stmt, described, wide)
  const fill = cut && `CLOSE ${name};\n${declare} ${cut}`
  return readCursor(name, maxRows, own, described, fill, '', merged(described, wide))
}

/**
 * PostgreSQL: a statement that must run whole (RETURNING, a data-modifying WITH, a locking
 * clause) run into a temporary table, then read from it as a query is: the server keeps the
 * rows, where the client held every one (INSERT … RETURNING of 20 million rows took this
 * process to 1.4 GiB). It runs once, all of it, in the transaction it would have had; its
 * error is its own. `WITH NO DATA` first only analyses, so what the table refuses (repeated or
 * `record` columns, SELECT … INTO, a rule, no TEMP privilege) ran nothing: undefined, and the
 * statement runs as it is.
 */
async function throughTable(stmt, maxRows, asQuery) {
  const name = `execd_rows_${++cursors}`
  // Named in pg_temp: a search path that finds a user's table of the name first must not drop it.
  const table = `pg_temp.${name}`
  const rows = asQuery ? `\n${stmt}\n` : `WITH execd_returned AS (\n${stmt}\n) SELECT * FROM execd_returned`
  const create = `CREATE TEMPORARY TABLE ${name} AS ${rows}`
  const kept = !asQuery && outside ? await throughKept(stmt, name, maxRows) : REFUSED
  if (kept !== REFUSED) return kept
  const { own, refused, described } = await opened(`${create} WITH NO DATA;\nTABLE ${table}`)
  if (refused) return undefined
  // Made again, not filled: a query's own WITH may write, which only a top-level statement holds.
  const wide = await wideTypes(described, say)
  const read = cutQuery(`TABLE ${table}`, described, wide) ?? `TABLE ${table}`
  const fill = `DROP TABLE ${table};\n${create};\nDECLARE ${name} NO SCROLL CURSOR FOR ${read}`
  const drop = `; DROP TABLE ${table}`
  const outcome = await readCursor(name, maxRows, own, described, fill, drop, merged(described, wide))
  if (!asQuery) returned = described.map(c => c.type)
  return outcome
}

const REFUSED = Symbol('refused')
/** The types the last write through a table of its own returned, and the kept table of each. */
let returned
const kept = new Map()
let tables = 0

/**
 * A write outside a block, its rows put in a table of the session kept for the types it
 * returns and emptied by each commit, where a table made for it (and one to probe) cost 2-6 ms
 * (500 one-row `INSERT … RETURNING` 1.0-7.4 s, 0.12-0.75 s read whole). The types are the last
 * write's through its own table, a guess checked where the statement is analysed: a count or a
 * type else (any, a domain, varchar for text) is an error before it runs (`keptWrite`). It runs
 * once, in our transaction, the first FETCH in its message. An error is its own when EXPLAIN of
 * the same text (it runs nothing) passes; else nothing ran and REFUSED, as a guess missed: the
 * table of its own.
 */
async function throughKept(stmt, name, maxRows) {
  const types = returned
  if (!types) return REFUSED
  const key = types.join()
  if (!kept.has(key)) {
    try {
      kept.set(key, await keptTable(`pg_temp.execd_kept_${++tables}`, types, say))
    } catch (e) {
      if (stop) throw e
      return REFUSED
    }
  }
  const table = kept.get(key)
  const columns = types.map(type => ({ type }))
  const wide = await wideTypes(columns, say)
  outside = false
  const write = keptWrite(stmt, table)
  try {
    const fill = `BEGIN;\n${write};\n${keptCursor(name, table, wide)}`
    return await readCursor(name, maxRows, true, undefined, fill, '', merged(columns, wide))
  } catch (e) {
    if (stop) throw e
    const ran = await say(`EXPLAIN ${write}`).then(
      () => true,
      () => false,
    )
    if (ran) throw e
    // A guess missed, or our table or function went (DISCARD TEMP): each made again when next met.
    if (
      await say(gone(table.table))
        .values()
        .then(([[lost]]) => lost)
    )
      kept.clear()
    return REFUSED
  }
}

/**
 * Sends `probe` (it plans, runs nothing) in the transaction the statement would have had: its
 * own (BEGIN … COMMIT, as a statement alone autocommits), or the session's open one, where a
 * savepoint keeps a refusal from aborting it. `own` and the columns the probe's last statement
 * `described`, or the SQLSTATE `refused`.
 */
async function opened(probe) {
  let own = outside
  outside = false
  if (!own) {
    try {
      await say('SAVEPOINT execd_cursor')
    } catch (e) {
      // 25P01: no transaction block; anything else (an aborted block: 25P02) the statement says itself.
      if (e?.errno !== '25P01') return { refused: String(e?.errno ?? 'XX000') }
      own = true
    }
  }
  let described
  try {
    described = (await sent(server.unsafe(`${own ? 'BEGIN;\n' : ''}${probe}`))).at(-1)?.columns ?? []
  } catch (e) {
    await say(own ? 'ROLLBACK' : 'ROLLBACK TO SAVEPOINT execd_cursor; RELEASE SAVEPOINT execd_cursor')
    outside = own
    if (stop) throw e
    return { refused: String(e?.errno ?? 'XX000') }
  }
  if (!own) await say('RELEASE SAVEPOINT execd_cursor')
  return { own, described }
}

/**
 * Cursor `name`'s rows to the limit under the names `described`, each `shape`d (`merged`),
 * after `fill` (what declares the cursor again, or runs the statement where the cursor does
 * not) and before `drop` (what goes with the cursor); then our transaction is committed, or
 * the session's left open.
 */
async function readCursor(name, maxRows, own, described, fill = '', drop = '', shape) {
  let done = false
  try {
    const names = described?.map(c => c.name)
    const outcome = await fetchRows(name, maxRows, names, fill && `${fill};\n`, shape)
    await say(`CLOSE ${name}${drop}${own ? '; COMMIT' : ''}`)
    done = true
    outside = own
    return outcome
  } finally {
    // An error or an interrupt: our transaction is undone as the statement's would be; in the
    // session's, the cursor goes (an aborted block drops it at its ROLLBACK).
    if (!done)
      await say(own ? 'ROLLBACK' : `CLOSE ${name}${drop}`).then(
        () => (outside = own),
        () => {},
      )
  }
}

/**
 * Batches sized to the budget left (a first of 64 rows, then as many as the rows so far say
 * fit, at most 1,024; never past the row limit and one more), so this process holds about one
 * budget, not a batch's worst case. `before` goes in the first FETCH's message, a round trip
 * saved; `seen` counts the rows fetched.
 */
async function fetchRows(name, maxRows, columns, before = '', shape = values => values, seen = { rows: 0 }) {
  const rows = []
  const budget = { left: MAX_RESULT_CHARS }
  for (let want = Math.min(64, maxRows + 1); ;) {
    const sentAll = await sent(say(`${before}FETCH FORWARD ${want} FROM ${name}`).values())
    // Several statements answer a result each: the FETCH's is the last.
    const batch = before ? sentAll.at(-1) : sentAll
    // Not described before: the write's own, three results before its FETCH (`throughKept`), or
    // a user's cursor's, the FETCH's (`fetchOwn`).
    columns ??= ((before ? sentAll.at(-3) : sentAll)?.columns ?? []).map(c => c.name)
    seen.rows += batch.length
    before = ''
    if (stop) throw INTERRUPTED
    if (columns.length === 0) return { affected: 0 }
    for (const values of batch) {
      if (rows.length === maxRows || !take(rows, shape(values), budget)) return { columns, rows, truncated: true }
    }
    if (batch.length < want) return { columns, rows, truncated: false }
    const perRow = Math.max(1, (MAX_RESULT_CHARS - budget.left) / rows.length)
    want = Math.max(1, Math.min(1024, maxRows + 1 - rows.length, Math.ceil(budget.left / perRow) + 1))
  }
}
