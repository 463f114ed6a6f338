/**
 * Result bundles in the reference's shape: the text is the JSON string
 * `{"columns":[…],"rows":[[…]]}` (`text/plain` and its alias `text`), plus a `text/html`
 * table and the same object as `application/json` (a count's says `affected` too). Unlike the
 * reference (Go `%v` strings, `rows` omitted when empty), cells keep their JSON type and `rows`
 * is always present.
 */
type Cell = string | number | boolean | null | Record<string, unknown> | unknown[]

export interface Table {
  columns: string[]
  rows: Cell[][]
  /** More rows existed than the row limit let through. */
  truncated?: boolean
}

export function tableBundle(table: Table): Record<string, unknown> {
  const json: Record<string, unknown> = { columns: table.columns, rows: table.rows }
  if (table.truncated) json.truncated = true
  const text = JSON.stringify(json)
  return { 'text/plain': text, text, 'text/html': htmlTable(table), 'application/json': json }
}

/**
 * A statement's count of changed rows: the reference's bytes as text. Those bytes are also a
 * query's one row under a column named `affected_rows`, so the JSON object (execd's own, which
 * `execd exec sql` reads) says `affected: true` as well, where the statement returned no rows.
 */
export function affectedBundle(n: number): Record<string, unknown> {
  const bundle = tableBundle({ columns: ['affected_rows'], rows: [[n]] })
  return { ...bundle, 'application/json': { ...(bundle['application/json'] as object), affected: true } }
}

function htmlTable(table: Table): string {
  const head = table.columns.map(c => `<th>${escapeHtml(c)}</th>`).join('')
  const body = table.rows
    .map(
      row =>
        `<tr>${row.map(v => `<td>${v === null ? '<i>NULL</i>' : escapeHtml(typeof v === 'string' ? v : JSON.stringify(v))}</td>`).join('')}</tr>`,
    )
    .join('')
  const more = table.truncated ? `<p>Only the first ${table.rows.length} rows are shown.</p>` : ''
  return `<table><thead><tr>${head}</tr></thead><tbody>${body}</tbody></table>${more}`
}

// Bun's native escaper: a regex with a callback per character took 2 s over a 3 MB value of `<&`.
const escapeHtml = (s: string) => Bun.escapeHTML(s)
