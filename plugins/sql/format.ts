/**
 * Result bundles in the reference's shape: the text is the JSON string
 * `{"columns":[…],"rows":[[…]]}` (`text/plain` and its alias `text`), plus a `text/html`
 * table and the same object as `application/json`. Unlike the reference (Go `%v` strings,
 * `rows` omitted when empty), cells keep their JSON type and `rows` is always present.
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

export const affectedBundle = (n: number): Record<string, unknown> =>
  tableBundle({ columns: ['affected_rows'], rows: [[n]] })

/** A driver's value as JSON: big integers as strings, blobs as hex, dates as ISO text. */
export function toCell(v: unknown): Cell {
  if (v === null || v === undefined) return null
  if (typeof v === 'bigint') return Number.isSafeInteger(Number(v)) ? Number(v) : v.toString()
  if (typeof v === 'number') return Number.isFinite(v) ? v : String(v)
  if (typeof v === 'string' || typeof v === 'boolean') return v
  if (v instanceof Date) return Number.isNaN(v.getTime()) ? String(v) : v.toISOString()
  if (v instanceof Uint8Array) return `\\x${Buffer.from(v).toString('hex')}`
  if (Array.isArray(v)) return v.map(toCell)
  if (typeof v === 'object') return JSON.parse(JSON.stringify(v, (_, x) => (typeof x === 'bigint' ? x.toString() : x)))
  return String(v)
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
