import { afterAll, expect, test } from 'bun:test'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { resolveConfig } from '../../core/config'
import type { ExecEvent } from '../../core/events'
import { pidsWith } from '../../spec/harness'
import { errorOf, runCell } from '../../spec/kit/cell-events'
import { sql } from '.'
import { results, startSql as startIn, texts } from './test-context'
import { removeDriverFile } from './child'
import { pairAcrossPieces } from '../../spec/kit/pieces-cell'

const dirs: string[] = []
afterAll(async () => {
  dirs.splice(0).forEach(d => rmSync(d, { recursive: true, force: true }))
  await removeDriverFile()
})

function startSql(flags: Record<string, string> = {}, cwd = mkdtempSync(join(tmpdir(), 'execd-sql-test-'))) {
  dirs.push(cwd)
  return startIn(flags, cwd)
}

test('a table persists across cells and a SELECT gives columns and rows', async () => {
  const ctx = await startSql()
  await runCell(
    ctx,
    "CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT, score REAL); INSERT INTO t (name, score) VALUES ('ann', 1.5), ('bob', NULL)",
  )
  const events = await runCell(ctx, 'SELECT id, name, score FROM t ORDER BY id')
  expect(events.map(e => e.type)).toEqual(['execution_count', 'result'])
  const [bundle] = results(events)
  expect(bundle?.text).toBe('{"columns":["id","name","score"],"rows":[[1,"ann",1.5],[2,"bob",null]]}')
  expect(bundle?.['text/plain']).toBe(bundle?.text)
  expect(bundle?.['text/html']).toBe(
    '<table><thead><tr><th>id</th><th>name</th><th>score</th></tr></thead><tbody>' +
      '<tr><td>1</td><td>ann</td><td>1.5</td></tr><tr><td>2</td><td>bob</td><td><i>NULL</i></td></tr></tbody></table>',
  )
  await ctx.close()
})

test('statements report affected rows, several in order, one result each', async () => {
  const ctx = await startSql()
  const events = await runCell(
    ctx,
    'CREATE TABLE t (x);\nINSERT INTO t VALUES (1), (2), (3);\nUPDATE t SET x = x * 10 WHERE x > 1;\nSELECT sum(x) AS total FROM t;',
  )
  expect(texts(events)).toEqual([
    { columns: ['affected_rows'], rows: [[0]] },
    { columns: ['affected_rows'], rows: [[3]] },
    { columns: ['affected_rows'], rows: [[2]] },
    { columns: ['total'], rows: [[51]] },
  ])
  await ctx.close()
})

test('an empty SELECT keeps its columns; big integers, blobs and repeated names survive', async () => {
  const ctx = await startSql()
  await runCell(ctx, 'CREATE TABLE e (a, b)')
  expect(texts(await runCell(ctx, 'SELECT * FROM e'))).toEqual([{ columns: ['a', 'b'], rows: [] }])
  expect(texts(await runCell(ctx, "SELECT 9007199254740993 AS big, x'00ff' AS blob, 1 AS a, 2 AS a"))).toEqual([
    { columns: ['big', 'blob', 'a', 'a'], rows: [['9007199254740993', '\\x00ff', 1, 2]] },
  ])
  await ctx.close()
})

test('an error carries the database message and stops the cell', async () => {
  const ctx = await startSql()
  const events = await runCell(ctx, 'CREATE TABLE t (x); SELECT * FROM missing; INSERT INTO t VALUES (1)')
  expect(events.map(e => e.type)).toEqual(['execution_count', 'result', 'error'])
  expect(errorOf(events)).toMatchObject({ ename: 'DBQueryError', evalue: 'no such table: missing' })
  expect(texts(await runCell(ctx, 'SELECT count(*) AS n FROM t'))).toEqual([{ columns: ['n'], rows: [[0]] }])
  const exec = errorOf(await runCell(ctx, 'INSERT INTO nowhere VALUES (1)'))
  expect(exec).toMatchObject({ ename: 'DBExecError', evalue: 'no such table: nowhere' })
  expect(exec?.traceback[0]).toBe('INSERT INTO nowhere VALUES (1)')
  expect(errorOf(await runCell(ctx, 'SELEC 1'))?.evalue).toContain('syntax error')
  await ctx.close()
})

test("a failed statement's traceback is cut at 500 characters, never through a character", async () => {
  const ctx = await startSql()
  const head = "INSERT INTO nowhere VALUES ('"
  const kept = head + 'a'.repeat(499 - head.length)
  // The emoji's two UTF-16 halves sit at 499 and 500: a cut at 500 left the first alone.
  const exec = errorOf(await runCell(ctx, `${kept}😀${'b'.repeat(100)}')`))
  expect(exec?.ename).toBe('DBExecError')
  expect(exec?.traceback[0]).toBe(`${kept}…`)
  expect(errorOf(await runCell(ctx, `${kept}b')`))?.traceback[0]).toBe(`${kept}b…`)
  await ctx.close()
})

test('execution_count increments per cell, before the results', async () => {
  const ctx = await startSql()
  const counts = [await runCell(ctx, 'SELECT 1'), await runCell(ctx, 'SELECT 2')].map(ev => ev[0]?.execution_count)
  expect(counts).toEqual([1, 2])
  await ctx.close()
})

test('a SELECT beyond the row limit is cut and says so', async () => {
  const ctx = await startSql({ 'sql-max-rows': '3' })
  const [table] = texts(
    await runCell(ctx, 'WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT x FROM c'),
  )
  expect(table).toEqual({ columns: ['x'], rows: [[1], [2], [3]], truncated: true })
  await ctx.close()
})

test('an interrupt stops a long SELECT and the database keeps its state', async () => {
  const ctx = await startSql({ 'sql-max-rows': '100000000' })
  await runCell(ctx, 'CREATE TABLE kept (x); INSERT INTO kept VALUES (42)')
  const events: ExecEvent[] = []
  // One row in a thousand: rows go on coming (the interrupt is looked at between them), but not
  // so fast that the result's 4 Mi-character budget ends the SELECT before the interrupt — every
  // row (x) did, within 200 ms on a quiet machine (CI): truncated, no KeyboardInterrupt.
  const running = (async () => {
    for await (const e of ctx.run(
      'WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT x FROM c WHERE x % 1000 = 0',
    ))
      events.push(e)
  })()
  await Bun.sleep(200)
  await ctx.interrupt()
  await running
  expect(errorOf(events)?.ename).toBe('KeyboardInterrupt')
  expect(texts(await runCell(ctx, 'SELECT x FROM kept'))).toEqual([{ columns: ['x'], rows: [[42]] }])
  await ctx.close()
})

test('a statement in one endless step leaves the event loop free; closing the context kills its process', async () => {
  const before = pidsWith('sql-driver.js', process.pid)
  const ctx = await startSql()
  const mine = pidsWith('sql-driver.js', process.pid).filter(p => !before.includes(p))
  expect(mine).toHaveLength(1)
  const events: ExecEvent[] = []
  const running = (async () => {
    for await (const e of ctx.run(
      'WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) AS n FROM c',
    ))
      events.push(e)
  })()
  // Timers still fire while SQLite works in its process: the in-process driver would block here.
  await Bun.sleep(200)
  await ctx.interrupt() // one long step never reaches the between-rows check
  await ctx.close()
  await running
  expect(errorOf(events)?.ename).toBe('KeyboardInterrupt')
  expect(errorOf(events)?.evalue).toContain('in-memory database is lost')
  expect(ctx.alive).toBe(false)
  // close() resolves once the process is killed and reaped.
  expect(existsSync(`/proc/${mine[0]}`)).toBe(false)
})

test('a file database under the cwd outlives its context', async () => {
  const cwd = mkdtempSync(join(tmpdir(), 'execd-sql-test-'))
  const first = await startSql({ 'sql-file': 'data.db' }, cwd)
  await runCell(first, "CREATE TABLE t (x); INSERT INTO t VALUES ('saved')")
  await first.close()
  expect(existsSync(join(cwd, 'data.db'))).toBe(true)
  const second = await startSql({ 'sql-file': 'data.db' }, cwd)
  expect(texts(await runCell(second, 'SELECT x FROM t'))).toEqual([{ columns: ['x'], rows: [['saved']] }])
  await second.close()
})

test('a statement longer than a piece arrives whole: its pieces joined in order, a surrogate pair across their end', async () => {
  const ctx = await startSql()
  const text = "ab'c\u00e9\ud83d\ude00".repeat(100_000)
  const quoted = `'${text.replaceAll("'", "''")}'`
  const stmt = pairAcrossPieces(
    'SELECT length(s) AS n, s = ',
    `${quoted} AS same FROM (SELECT ${quoted} AS s)`,
    '',
    '--',
  )
  expect(texts(await runCell(ctx, stmt))).toEqual([{ columns: ['n', 'same'], rows: [[[...text].length, 1]] }])
  await ctx.close()
})

test('.open switches the context to another database', async () => {
  const ctx = await startSql()
  const events = await runCell(ctx, '.open other.db\nCREATE TABLE o (x); SELECT count(*) AS n FROM o')
  expect(events.find(e => e.type === 'stdout')?.text).toMatch(/^opened SQLite .* file .*other\.db\n$/)
  expect(texts(events).at(-1)).toEqual({ columns: ['n'], rows: [[0]] })
  expect(errorOf(await runCell(ctx, '.open postgres://nobody@127.0.0.1:1/none'))?.ename).toBe('DBInitError')
  await ctx.close()
})

test('a closed context reports it instead of running', async () => {
  const ctx = await startSql()
  await ctx.close()
  await ctx.close()
  expect(ctx.alive).toBe(false)
  expect(errorOf(await runCell(ctx, 'SELECT 1'))?.ename).toBe('DeadKernelError')
})

test('sql is always available, naming SQLite or the configured server', async () => {
  const [embedded] = await sql.languages(resolveConfig(sql.options ?? [], {}, {}))
  expect(embedded).toMatchObject({ language: 'sql', available: true })
  expect(embedded?.detail).toMatch(/^SQLite 3\.\d+\.\d+ via bun:sqlite, in memory$/)
  const [server] = await sql.languages(
    resolveConfig(sql.options ?? [], { 'sql-dsn': 'postgres://u:secret@db:5432/app' }, {}),
  )
  expect(server?.detail).toBe('postgres://u:***@db:5432/app via Bun.SQL')
})
