// The SQL text the driver (driver.js) sends around a user's PostgreSQL statement to bound its
// answer on the server: a module of the driver, written beside it for the child, embedded in
// execd as text.
import { MAX_RESULT_CHARS } from './cells.js'

/**
 * Types whose values are cut on the server: text, varchar (the same as text), bytea. Named in
 * pg_catalog: a search path may put a user's `left` first.
 */
const CUT = {
  25: c => cutText(c),
  1043: c => cutText(c),
  17: c => `pg_catalog.substr(${c}, 1, ${(MAX_RESULT_CHARS >> 1) + 1})`,
}
const cutText = c => `pg_catalog.left(${c}, ${MAX_RESULT_CHARS + 1})`

/**
 * Whether a type's values may be any size and are read as themselves (not text): json, jsonb,
 * xml, and any other type of variable length (an array, a range, a composite or an anonymous
 * record, a domain over one, an extension's), looked up once a session (`wideTypes`); the
 * common scalars are known not to be.
 */
const known = new Map([
  ...[114, 3802, 142].map(t => [t, true]),
  ...[16, 18, 19, 20, 21, 23, 26, 700, 701, 1042, 1082, 1083, 1114, 1184, 1186, 1700, 2950].map(t => [t, false]),
])

/**
 * Of these columns' types, those `cutQuery` cuts as text when long: of variable length
 * (`typlen` -1, or -2 for cstring), where only arrays were, and a 100 MB composite, record and
 * range took this process to 620 MiB.
 */
export async function wideTypes(columns, say) {
  const unknown = [...new Set(columns.map(c => c.type))].filter(t => !known.has(t) && !CUT[t])
  if (unknown.length > 0) {
    try {
      const rows = await say(
        `SELECT oid::pg_catalog.int4, typlen < 0 FROM pg_catalog.pg_type WHERE oid IN (${unknown.join(', ')})`,
      ).values()
      for (const t of unknown) known.set(t, false)
      for (const [oid, wide] of rows) known.set(Number(oid), wide)
    } catch {
      // Not looked up (the session's block aborted meanwhile): left whole this time, as before.
    }
  }
  return new Set(columns.map(c => c.type).filter(t => known.get(t)))
}

/**
 * `query` again with each text or bytea value cut on the server to what one result carries and
 * a character (a byte) more, where the client read it whole first (one 400 MB value took this
 * process to 811 MiB): longer, it is cut here and said `truncated` as before. A `wide` type's
 * value (json, jsonb, xml, an array: its text would not parse) comes as itself, or in a column
 * after it as its text cut so when that text is longer than a result carries (`merged` makes
 * them one). Undefined without such a column. Each column is named once, so a volatile one is
 * still computed once: a subquery's ORDER BY keeps it from being pulled up, its order kept, and
 * so does OFFSET 0 around the query where a wide column is named again.
 */
export function cutQuery(query, columns, wide = new Set()) {
  if (!columns.some(c => CUT[c.type] || wide.has(c.type))) return undefined
  const names = columns.map((_, i) => `c${i + 1}`)
  const texts = []
  const select = columns.flatMap((c, i) => {
    if (CUT[c.type] || !wide.has(c.type)) return [CUT[c.type]?.(names[i]) ?? names[i]]
    const text = `execd_t${i + 1}.t`
    const over = `pg_catalog.length(${text}) > ${MAX_RESULT_CHARS}`
    texts.push(`LATERAL (SELECT ${names[i]}::pg_catalog.text OFFSET 0) execd_t${i + 1}(t)`)
    return [`CASE WHEN ${over} THEN NULL ELSE ${names[i]} END`, `CASE WHEN ${over} THEN ${cutText(text)} END`]
  })
  const source = texts.length > 0 ? `(SELECT * FROM (\n${query}\n) execd_q OFFSET 0)` : `(\n${query}\n)`
  return `SELECT ${select.join(', ')} FROM ${source} execd_cut(${names.join(', ')})${texts.map(t => `, ${t}`).join('')}`
}

/** A row of `cutQuery`'s answer as the query's own: each wide column's value, or its cut text. */
export function merged(columns, wide) {
  const widened = columns.map(c => !CUT[c.type] && wide.has(c.type))
  if (!widened.includes(true)) return undefined
  return values => {
    const row = []
    let at = 0
    for (const w of widened) {
      // The cut text, when there is one, stands for the value.
      row.push(w ? (values[at + 1] ?? values[at]) : values[at])
      at += w ? 2 : 1
    }
    return row
  }
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

/** Cursor `name` over `kept`'s table, its values cut as `cutQuery` cuts them. */
export function keptCursor(name, { table, types }, wide) {
  const read = `TABLE ${table}`
  return `DECLARE ${name} NO SCROLL CURSOR FOR ${
    cutQuery(
      read,
      types.map(type => ({ type })),
      wide,
    ) ?? read
  }`
}

/** Whether `table` or `execd_alike` is gone. */
export const gone = table =>
  `SELECT pg_catalog.to_regclass('${table}') IS NULL OR pg_catalog.to_regprocedure('pg_temp.execd_alike(anyelement, anyelement)') IS NULL`
