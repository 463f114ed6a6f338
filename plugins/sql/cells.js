// The values of one result as the JSON cells it carries, within its budget: a module of the
// sql driver (driver.js), written beside it for the child, embedded in execd as text.

// Characters (blob bytes count twice: they go out as hex) of values one result carries at
// most. The row limit alone let one row hold a 300 MB string: turning that into a result event
// held execd's event loop for minutes while its memory grew past 5 GiB.
export const MAX_RESULT_CHARS = 4 * 1024 * 1024

const sizeOf = v =>
  typeof v === 'string'
    ? v.length
    : v instanceof Uint8Array
      ? 2 * v.byteLength
      : v !== null && typeof v === 'object' && !(v instanceof Date)
        ? JSON.stringify(v, bigints).length
        : 8
const cut = (v, room) =>
  typeof v === 'string'
    ? v.slice(0, room)
    : v instanceof Uint8Array
      ? v.subarray(0, room >> 1)
      : v !== null && typeof v === 'object' && !(v instanceof Date) && sizeOf(v) > room
        ? JSON.stringify(v, bigints).slice(0, room)
        : v
const bigints = (_, x) => (typeof x === 'bigint' ? x.toString() : x)

/**
 * A driver's value as the JSON cell a result carries (execd's format.ts documents the shape):
 * big integers as strings, blobs as hex, dates as ISO text, JSON and arrays as themselves; made
 * here so rows cross the channel as plain JSON and execd only parses them.
 */
const cell = v =>
  v === null || v === undefined
    ? null
    : typeof v === 'bigint'
      ? Number.isSafeInteger(Number(v))
        ? Number(v)
        : v.toString()
      : typeof v === 'number'
        ? Number.isFinite(v)
          ? v
          : String(v)
        : typeof v === 'string' || typeof v === 'boolean'
          ? v
          : v instanceof Date
            ? Number.isNaN(v.getTime())
              ? String(v)
              : v.toISOString()
            : v instanceof Uint8Array
              ? `\\x${Buffer.from(v).toString('hex')}`
              : Array.isArray(v)
                ? v.map(cell)
                : typeof v === 'object'
                  ? JSON.parse(JSON.stringify(v, bigints))
                  : String(v)

/** Adds `values` to `rows` unless the budget is spent: false then (the result is truncated). */
export function take(rows, values, budget) {
  const size = values.reduce((n, v) => n + sizeOf(v), 0)
  if (size <= budget.left) {
    budget.left -= size
    rows.push(values.map(cell))
    return true
  }
  // A first row too big on its own comes cut, each value to its share of the budget.
  if (rows.length === 0) rows.push(values.map(v => cell(cut(v, Math.floor(MAX_RESULT_CHARS / values.length)))))
  return false
}

/** Result sets of one statement shown at most; the rest are counted (`more`). */
const MAX_RESULTS = 64

/**
 * The result sets of a CALL, each a table as the mysql client prints it, rows cut to the limit
 * and all of them to one budget: before, only the CALL's own count was shown. A procedure that
 * SELECTs in a loop answers a result per turn, so at most MAX_RESULTS go out. No result set:
 * the last result's count (the CALL's own). `cutIn(i)`: whether the relay cut result i's rows.
 */
export function severalResults(results, maxRows, cutIn) {
  const tables = []
  const budget = { left: MAX_RESULT_CHARS }
  let more = 0
  results.forEach((result, index) => {
    const columns = (result.columns ?? []).map(c => c.name)
    if (columns.length === 0) return
    if (tables.length === MAX_RESULTS) return void more++
    const rows = []
    let truncated = cutIn(index)
    for (const values of result) {
      if (rows.length === maxRows || !take(rows, values, budget)) {
        truncated = true
        break
      }
    }
    tables.push({ columns, rows, truncated })
  })
  if (tables.length === 0) return { affected: Number(results.at(-1)?.affectedRows ?? 0) }
  return { tables, more }
}
