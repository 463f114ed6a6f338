// The SQL text the driver (driver.js) sends around a user's PostgreSQL statement to bound its
// answer on the server: a module of the driver, written beside it for the child, embedded in
// execd as text.
import { MAX_RESULT_CHARS } from './cells.js'

/**
 * Types whose values are cut on the server: text, varchar (the same as text), bytea. Named in
 * pg_catalog: a search path may put a user's `left` first.
 */
const CUT = {
  25: c => `pg_catalog.left(${c}, ${MAX_RESULT_CHARS + 1})`,
  1043: c => `pg_catalog.left(${c}, ${MAX_RESULT_CHARS + 1})`,
  17: c => `pg_catalog.substr(${c}, 1, ${(MAX_RESULT_CHARS >> 1) + 1})`,
}

/**
 * `query` again with each text or bytea value cut on the server to what one result carries and
 * a character (a byte) more, where the client read it whole first (one 400 MB value took this
 * process to 811 MiB): longer, it is cut here and said `truncated` as before. Undefined without
 * such a column. Each column is named once, so a volatile one is still computed once; a
 * subquery's ORDER BY keeps it from being pulled up, its order kept.
 */
export function cutQuery(query, columns) {
  if (!columns.some(c => CUT[c.type])) return undefined
  const names = columns.map((_, i) => `c${i + 1}`)
  const select = columns.map((c, i) => CUT[c.type]?.(names[i]) ?? names[i])
  return `SELECT ${select.join(', ')} FROM (\n${query}\n) execd_cut(${names.join(', ')})`
}

/**
 * A session's table for rows of these types (as the wire names them), emptied by each commit,
 * and once the function `keptWrite` checks the types with: its two arguments' types must be
 * the same, not cast (a domain and its base differ, and varchar and text). The types' names
 * come without a modifier, as they read back (bpchar, "bit"): with one a value could be cut.
 */
export async function keptTable(table, types, say) {
  const list = `'{${types.join(',')}}'::pg_catalog.oid[]`
  const rows = await say(
    `SELECT pg_catalog.format_type(t, NULL) FROM pg_catalog.unnest(${list}) WITH ORDINALITY u(t, i) ORDER BY i`,
  ).values()
  const names = rows.map(([name]) => name)
  await say(`CREATE OR REPLACE FUNCTION pg_temp.execd_alike(anyelement, anyelement) RETURNS boolean
LANGUAGE sql IMMUTABLE AS 'SELECT true';
CREATE TEMPORARY TABLE ${table} (${names.map((type, i) => `c${i + 1} ${type}`).join(', ')}) ON COMMIT DELETE ROWS`)
  return { table, types, names }
}

/**
 * The write, its rows put in `kept`'s table and none sent: the answer's names and types come
 * with it. Its columns given as many names as the table's and each passed with a NULL of its
 * type to `execd_alike`: the statement is refused as it is analysed unless it returns exactly
 * these types. A data-modifying WITH runs once and whole, read or not.
 */
export function keptWrite(stmt, { table, names }) {
  const columns = names.map((_, i) => `c${i + 1}`)
  const alike = names.map((type, i) => `pg_temp.execd_alike(${columns[i]}, NULL::${type})`)
  return `WITH execd_returned AS (
${stmt}
), execd_typed(${columns.join(', ')}) AS (SELECT * FROM execd_returned),
execd_kept AS (INSERT INTO ${table} SELECT * FROM execd_typed WHERE ${alike.join(' AND ')})
SELECT * FROM execd_returned LIMIT 0`
}

/** Cursor `name` over `kept`'s table, its text and bytea cut as `cutQuery` cuts them. */
export function keptCursor(name, { table, types }) {
  const select = types.map((type, i) => CUT[type]?.(`c${i + 1}`) ?? `c${i + 1}`)
  return `DECLARE ${name} NO SCROLL CURSOR FOR SELECT ${select.join(', ')} FROM ${table}`
}

/** Whether `table` or `execd_alike` is gone. */
export const gone = table =>
  `SELECT pg_catalog.to_regclass('${table}') IS NULL OR pg_catalog.to_regprocedure('pg_temp.execd_alike(anyelement, anyelement)') IS NULL`
