/**
 * The sql runtime through dist/execd. The kit's streaming, interrupt and crash snippets do
 * not apply to a database (no print, no exit), so its state and error checks are written out
 * here. Embedded SQLite runs in a child process of the daemon, found through /proc.
 * PostgreSQL: EXECD_TEST_SQL_DSN's server, or a throwaway cluster (spec/kit/postgres.ts).
 */
import { ExecutionEventDispatcher, type Execution } from '@alibaba-group/opensandbox'
import { afterAll, describe, expect, test } from 'bun:test'
import { Database } from 'bun:sqlite'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pidsWith, postJson, readSse, startDaemon, waitFor } from './harness'
import { daemonAlone } from './kit/daemon-dir'
import { startMariadb } from './kit/mariadb'
import { startPostgres } from './kit/postgres'
import { createContext, expectWellFormed, ofType, resultText, runCode, runInterrupted } from './runtime-kit'
import { peakMiB } from './kit/peak-memory'

describe('sql through dist/execd (embedded SQLite)', () => {
  const fx = daemonAlone(() => ['--code-interrupt-grace', '500'])

  test('a table created in one cell is queried in the next, as the reference JSON text plus HTML', async () => {
    const id = await createContext(fx.d, 'sql')
    const create = await runCode(
      fx.d,
      "CREATE TABLE t (id INTEGER, name TEXT);\nINSERT INTO t VALUES (1, 'ann'), (2, 'bob');",
      { id, language: 'sql' },
    )
    expectWellFormed(create, id)
    expect(resultText(create)).toEqual([
      '{"columns":["affected_rows"],"rows":[[0]]}',
      '{"columns":["affected_rows"],"rows":[[2]]}',
    ])
    // The JSON object says a count is one: its text is a query's `SELECT 2 AS affected_rows` too.
    expect(ofType(create, 'result')[1]?.results['application/json']).toEqual({
      columns: ['affected_rows'],
      rows: [[2]],
      affected: true,
    })
    const events = await runCode(fx.d, 'SELECT id, name FROM t ORDER BY id', { id, language: 'sql' })
    expectWellFormed(events, id)
    expect(events.slice(2).map(e => e.type)).toEqual(['execution_count', 'result', 'execution_complete'])
    const [result] = ofType(events, 'result')
    expect(result?.results.text).toBe('{"columns":["id","name"],"rows":[[1,"ann"],[2,"bob"]]}')
    expect(result?.results['text/plain']).toBe(result?.results.text)
    expect(result?.results['text/html']).toContain('<td>ann</td>')
  })

  test('an error gives DBQueryError with the database message, then execution_complete', async () => {
    const id = await createContext(fx.d, 'sql')
    const events = await runCode(fx.d, 'SELECT * FROM nowhere', { id, language: 'sql' })
    expectWellFormed(events, id)
    const [error] = ofType(events, 'error')
    expect(error?.error).toMatchObject({ ename: 'DBQueryError', evalue: 'no such table: nowhere' })
    expect(error && events.indexOf(error)).toBe(events.length - 2)
  })

  test('contexts are separate databases; the default context is shared by id-less calls', async () => {
    await runCode(fx.d, 'CREATE TABLE shared (x); INSERT INTO shared VALUES (7)', { language: 'sql' })
    expect(resultText(await runCode(fx.d, 'SELECT x FROM shared', { language: 'sql' }))).toEqual([
      '{"columns":["x"],"rows":[[7]]}',
    ])
    const other = await createContext(fx.d, 'sql')
    const [error] = ofType(await runCode(fx.d, 'SELECT x FROM shared', { id: other, language: 'sql' }), 'error')
    expect(error?.error.evalue).toBe('no such table: shared')
  })

  test('the official SDK’s dispatcher shows the reference JSON text and the database error', async () => {
    const id = await createContext(fx.d, 'sql')
    const sdkRun = async (code: string) => {
      const execution: Execution = { logs: { stdout: [], stderr: [] }, result: [] }
      const dispatcher = new ExecutionEventDispatcher(execution)
      const res = await postJson(fx.d, '/code', { code, context: { id, language: 'sql' } })
      for (const frame of await readSse(res)) await dispatcher.dispatch(frame.data)
      return execution
    }
    const ok = await sdkRun("SELECT 'a' AS letter, 2 AS n")
    expect(ok.result.map(r => r.text)).toEqual(['{"columns":["letter","n"],"rows":[["a",2]]}'])
    expect(ok.complete).toBeDefined()
    const failed = await sdkRun('DROP TABLE missing_table')
    expect(failed.error).toMatchObject({ name: 'DBExecError', value: 'no such table: missing_table' })
    expect(failed.complete).toBeDefined()
  })

  test('DELETE /code?id= ends a long single SQLite statement; the next cell gets a fresh database', async () => {
    const id = await createContext(fx.d, 'sql')
    await runCode(fx.d, 'CREATE TABLE before_interrupt (x)', { id, language: 'sql' })
    const events = await runInterrupted(
      fx.d,
      'WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 1000000000) SELECT count(*) FROM c',
      { id, language: 'sql' },
    )
    expectWellFormed(events, id)
    expect(ofType(events, 'error')[0]?.error.ename).toBe('KeyboardInterrupt')
    const after = await runCode(fx.d, 'SELECT count(*) AS n FROM before_interrupt', { id, language: 'sql' })
    expect(after[0]?.state_lost).toBe(true)
    expect(ofType(after, 'error')[0]?.error.evalue).toBe('no such table: before_interrupt')
  })

  test('a SQLite process killed from outside: the next cell reports the state lost and runs on a fresh database', async () => {
    const before = pidsWith('sql-driver.js', fx.d.proc.pid)
    const id = await createContext(fx.d, 'sql')
    const [pid] = pidsWith('sql-driver.js', fx.d.proc.pid).filter(p => !before.includes(p))
    expect(pid).toBeDefined()
    await runCode(fx.d, 'CREATE TABLE before_kill (x)', { id, language: 'sql' })
    process.kill(pid!, 'SIGKILL')
    await waitFor('the SQLite process to be reaped', () => !pidsWith('sql-driver.js', fx.d.proc.pid).includes(pid!))
    // execd learns of the death when the leader is reaped and its group swept: a cell sent
    // before that fails naming the death, and then the next one starts fresh.
    let after = await runCode(fx.d, 'SELECT count(*) AS n FROM before_kill', { id, language: 'sql' })
    expectWellFormed(after, id)
    if (!after[0]?.state_lost) {
      expect(ofType(after, 'error')[0]?.error.evalue).toBe(
        'the SQLite process died (signal: killed); the in-memory database is lost',
      )
      after = await runCode(fx.d, 'SELECT count(*) AS n FROM before_kill', { id, language: 'sql' })
    }
    expect(after[0]?.state_lost).toBe(true)
    expect(ofType(after, 'error')[0]?.error.evalue).toBe('no such table: before_kill')
    expect(resultText(await runCode(fx.d, 'SELECT 7 AS n', { id, language: 'sql' }))).toEqual([
      '{"columns":["n"],"rows":[[7]]}',
    ])
  })

  test('sql is listed as available, naming SQLite', async () => {
    const res = await fx.d.fetch('/code/languages')
    const sql = (await res.json()).find((l: { language: string }) => l.language === 'sql')
    expect(sql).toMatchObject({ available: true })
    expect(sql.detail).toContain('SQLite')
  })

  test('a cell of many empty comments before a word ends at once, execd answering meanwhile (the trigger check backtracked 2^k ways)', async () => {
    // Each word's check of 40 comments held execd's event loop until the regex engine's
    // backtracking limit (2-5 s here): 20 words held it over a minute on the build before.
    const code = `${'/**/'.repeat(40)}${' x'.repeat(20)}`
    const cell = postJson(
      fx.d,
      '/code',
      { code, context: { language: 'sql' } },
      { signal: AbortSignal.timeout(30_000) },
    )
    const ping = await fx.d.fetch('/ping', { signal: AbortSignal.timeout(30_000) })
    expect(ping.status).toBe(200)
    const events = (await readSse(await cell)).map(f => f.data)
    expect(ofType(events, 'error')[0]?.error.evalue).toContain('syntax error')
    expect(events.at(-1)?.type).toBe('execution_complete')
    // A trigger behind comments is still one statement, its inner semicolons its own.
    const trigger = [
      '-- a trigger',
      '/* after comments */ CREATE TABLE t(a); CREATE TABLE log(a);',
      '-- c\n/* fx.d */ CREATE TRIGGER tr AFTER INSERT ON t BEGIN INSERT INTO log VALUES (1); INSERT INTO log VALUES (2); END;',
      'INSERT INTO t VALUES (0); SELECT count(*) AS n FROM log',
    ].join('\n')
    const id = await createContext(fx.d, 'sql')
    const made = await runCode(fx.d, trigger, { id, language: 'sql' })
    expect(ofType(made, 'error')).toEqual([])
    expect(resultText(made).at(-1)).toContain('2')
  }, 90_000)

  test('repeated column names over millions of rows: read row by row to the limit, the SQLite process small', async () => {
    const before = pidsWith('sql-driver.js', fx.d.proc.pid)
    const id = await createContext(fx.d, 'sql')
    const [pid] = pidsWith('sql-driver.js', fx.d.proc.pid).filter(p => !before.includes(p))
    expect(pid).toBeDefined()
    // Before, such names took every row at once: 2 million held 300 MB of it (30 million, 3.9 GB).
    const events = await runCode(
      fx.d,
      'WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c LIMIT 2000000) SELECT x AS a, x * 2 AS a FROM c',
      { id, language: 'sql' },
    )
    expectWellFormed(events, id)
    const json = ofType(events, 'result')[0]?.results['application/json'] as {
      columns: string[]
      rows: number[][]
      truncated?: boolean
    }
    expect(json.columns).toEqual(['a', 'a'])
    expect(json.rows).toHaveLength(10_000)
    expect(json.rows.at(-1)).toEqual([10_000, 20_000])
    expect(json.truncated).toBe(true)
    expect(peakMiB(pid!)).toBeLessThan(150)
    // A statement with repeated names that cannot be a subquery is taken whole, as before.
    const returned = await runCode(
      fx.d,
      'CREATE TABLE r (x); INSERT INTO r VALUES (1), (2) RETURNING x AS b, x + 1 AS b',
      { id, language: 'sql' },
    )
    expect(resultText(returned).at(-1)).toBe('{"columns":["b","b"],"rows":[[1,2],[2,3]]}')
  }, 90_000)

  // `count(*)` over an endless recursive CTE is one SQLite step that never returns. It ran in
  // a Worker thread, which Bun can only terminate once SQLite hands control back: never, so
  // the thread kept ~95% of a core after its context was deleted, one more per repeat
  // (bun:sqlite offers neither sqlite3_interrupt nor a progress handler). SQLite now runs in
  // a child process execd owns, and DELETE kills it.
  test('DELETE of the context ends the process that runs it', async () => {
    const before = pidsWith('sql-driver.js', fx.d.proc.pid)
    const created = await postJson(fx.d, '/code/context', { language: 'sql' })
    expect(created.status).toBe(200)
    const id = (await created.json()).id as string
    const mine = pidsWith('sql-driver.js', fx.d.proc.pid).filter(p => !before.includes(p))
    expect(mine).toHaveLength(1)
    const endless = 'WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c'
    const run = await postJson(fx.d, '/code', { context: { id, language: 'sql' }, code: endless })
    expect(run.status).toBe(200)
    // The statement has started once the cell is counted.
    await readSse(run, f => f.data.type === 'execution_count')
    expect((await fx.d.fetch(`/code/contexts/${id}`, { method: 'DELETE' })).status).toBe(200)
    await waitFor("the deleted context's SQLite process to end", () => !existsSync(`/proc/${mine[0]}`), 10_000)
  }, 30_000)

  describe('a sql result of one huge value', () => {
    // The row limit bounded rows, not bytes: `SELECT printf('%.*c', 300000000, 'x')` was turned
    // into a result event on the event loop — no /ping answered for minutes, execd's memory past
    // 5 GiB. Now one result carries at most 4 Mi characters of values; a first row too big on
    // its own comes cut, and the result says truncated.
    test('SELECT of a 20 MB string: the result is cut to 4 Mi characters and says truncated', async () => {
      const res = await postJson(fx.d, '/code', {
        code: "SELECT printf('%.*c', 20000000, 'x') AS big, 7 AS n",
        context: { language: 'sql' },
      })
      expect(res.status).toBe(200)
      const frames = await readSse(res)
      const result = frames.find(f => f.data.type === 'result')!.data.results
      const json = result['application/json']
      expect(json.truncated).toBe(true)
      expect(json.rows.length).toBe(1)
      expect(json.rows[0][0]).toBe('x'.repeat(json.rows[0][0].length))
      expect(json.rows[0][0].length).toBeLessThanOrEqual(4 * 1024 * 1024)
      expect(json.rows[0][1]).toBe(7)
      expect(frames.at(-1)!.data.type).toBe('execution_complete')
    }, 60_000)
  })
})

test('shutdown with SQLite contexts open, one idle on a file, one in an endless statement: execd exits 0, the file keeps its rows, no SQLite process stays', async () => {
  const cwd = mkdtempSync(join(tmpdir(), 'execd-sql-shutdown-'))
  const d = await startDaemon({ env: { EXECD_SQL_FILE: 'kept.db' } })
  try {
    const idle = await createContext(d, 'sql', cwd)
    await runCode(d, "CREATE TABLE t (x); INSERT INTO t VALUES ('saved')", { id: idle, language: 'sql' })
    const busy = await createContext(d, 'sql', cwd)
    // Answered (its stream begun) before the stop: sent just before it, the request could meet
    // the closing server instead, a connection reset rather than a statement to end.
    const started = await postJson(d, '/code', {
      code: 'WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c',
      context: { id: busy, language: 'sql' },
    })
    expect(started.status).toBe(200)
    const endless = readSse(started).catch(() => [])
    const drivers = pidsWith('sql-driver.js', d.proc.pid)
    expect(drivers.length).toBe(2)
    expect(await d.stop()).toBe(0)
    await endless
    expect(drivers.filter(pid => pidsWith('sql-driver.js').includes(pid))).toEqual([])
    const db = new Database(join(cwd, 'kept.db'), { readonly: true })
    expect(db.query('SELECT x FROM t').all()).toEqual([{ x: 'saved' }])
    db.close()
  } finally {
    await d.stop()
    rmSync(cwd, { recursive: true, force: true })
  }
}, 30_000)

const server = await startPostgres()
afterAll(() => server?.stop())
const dsn = server?.dsn
describe.skipIf(!dsn)(
  `sql through dist/execd on a server${dsn ? '' : ' (skipped: no postgresql installed and no EXECD_TEST_SQL_DSN=postgres://…)'}`,
  () => {
    const fx = daemonAlone(() => ({ env: { EXECD_SQL_DSN: dsn ?? '' } }))

    test('state, affected rows, a SELECT and an error on the server', async () => {
      const id = await createContext(fx.d, 'sql')
      const table = `execd_spec_${Date.now()}`
      const setup = await runCode(
        fx.d,
        `CREATE TEMPORARY TABLE ${table} (id int, name text); INSERT INTO ${table} VALUES (1, 'ann'), (2, NULL)`,
        { id, language: 'sql' },
      )
      expect(resultText(setup).at(-1)).toBe('{"columns":["affected_rows"],"rows":[[2]]}')
      const rows = await runCode(fx.d, `SELECT id, name FROM ${table} ORDER BY id`, { id, language: 'sql' })
      expect(resultText(rows)).toEqual(['{"columns":["id","name"],"rows":[[1,"ann"],[2,null]]}'])
      const [error] = ofType(await runCode(fx.d, 'SELECT * FROM execd_missing_table', { id, language: 'sql' }), 'error')
      expect(error?.error.ename).toBe('DBQueryError')
      expect(error?.error.evalue).toContain('execd_missing_table')
    })

    test('a huge value on the server comes cut to the result budget, and execd never holds it', async () => {
      const id = await createContext(fx.d, 'sql')
      // 64 M characters: before, execd took the whole value in and sent it 4 times over.
      const events = await runCode(fx.d, "SELECT repeat('x', 64 * 1024 * 1024) AS big, 1 AS n", { id, language: 'sql' })
      expectWellFormed(events, id)
      const [result] = ofType(events, 'result')
      const json = result?.results['application/json'] as { rows: [string, number][]; truncated?: boolean }
      expect(json.truncated).toBe(true)
      expect(json.rows[0]?.[0]).toHaveLength(2 * 1024 * 1024)
      expect(json.rows[0]?.[1]).toBe(1)
    })

    test('millions of rows on the server: read to the row limit, execd and the SQL client process both small', async () => {
      const before = pidsWith('sql-driver.js', fx.d.proc.pid)
      const id = await createContext(fx.d, 'sql')
      const [pid] = pidsWith('sql-driver.js', fx.d.proc.pid).filter(p => !before.includes(p))
      expect(pid).toBeDefined()
      const start = rssAnonMiB(fx.d.proc.pid)
      let peak = start
      const watching = setInterval(() => (peak = Math.max(peak, rssAnonMiB(fx.d.proc.pid))), 20)
      try {
        // Before, 3 million rows grew execd by ~430 MiB, then (in a process of its own) that process:
        // the client loaded them all before the row limit. Now a cursor fetches the limit and one more.
        const events = await runCode(fx.d, 'SELECT g, md5(g::text) AS h FROM generate_series(1, 3000000) g', {
          id,
          language: 'sql',
        })
        const [result] = ofType(events, 'result')
        const json = result?.results['application/json'] as { rows: unknown[][]; truncated?: boolean }
        expect(json.rows).toHaveLength(10_000)
        expect(json.rows.at(-1)).toEqual([10_000, 'b7a782741f667201b54880c925faec4b'])
        expect(json.truncated).toBe(true)
      } finally {
        clearInterval(watching)
      }
      expect(peak - start).toBeLessThan(150)
      expect(peakMiB(pid!)).toBeLessThan(150)
    })
  },
)

const mariadb = await startMariadb()
afterAll(() => mariadb?.stop())
describe.skipIf(!mariadb)(
  `sql through dist/execd on a MySQL server${mariadb ? '' : ' (skipped: no mariadb-server installed and no EXECD_TEST_MYSQL_DSN=mysql://…)'}`,
  () => {
    const fx = daemonAlone(() => ({ env: { EXECD_SQL_DSN: mariadb?.dsn ?? '' } }))

    test('state, a SELECT, an error, and a result cut to the budget', async () => {
      const id = await createContext(fx.d, 'sql')
      await runCode(fx.d, "CREATE TEMPORARY TABLE t (id int, name text); INSERT INTO t VALUES (1, 'ann'), (2, NULL)", {
        id,
        language: 'sql',
      })
      const rows = await runCode(fx.d, 'SELECT id, name FROM t ORDER BY id', { id, language: 'sql' })
      expect(resultText(rows)).toEqual(['{"columns":["id","name"],"rows":[[1,"ann"],[2,null]]}'])
      const [error] = ofType(await runCode(fx.d, 'SELECT * FROM execd_missing', { id, language: 'sql' }), 'error')
      expect(error?.error.ename).toBe('DBQueryError')
      const big = await runCode(fx.d, "SELECT REPEAT('x', 8 * 1024 * 1024) AS big", { id, language: 'sql' })
      const json = ofType(big, 'result')[0]?.results['application/json'] as { rows: string[][]; truncated?: boolean }
      expect(json.truncated).toBe(true)
      expect(json.rows[0]?.[0]).toHaveLength(4 * 1024 * 1024)
    })

    test('a million rows: read to the row limit under the select limit, the SQL client process small', async () => {
      const before = pidsWith('sql-driver.js', fx.d.proc.pid)
      const id = await createContext(fx.d, 'sql')
      const [pid] = pidsWith('sql-driver.js', fx.d.proc.pid).filter(p => !before.includes(p))
      expect(pid).toBeDefined()
      // Ten digits joined six times, with 200 bytes a row: the client took all of it before the limit.
      const digits = `(${[...Array(10).keys()].map(d => `SELECT ${d} AS d`).join(' UNION ALL ')})`
      const from = ['a', 'b', 'c', 'e', 'f', 'g'].map(t => `${digits} ${t}`).join(', ')
      const events = await runCode(
        fx.d,
        `SELECT a.d + 10 * b.d + 100 * c.d + 1000 * e.d + 10000 * f.d + 100000 * g.d AS n, REPEAT('x', 200) AS pad FROM ${from}`,
        { id, language: 'sql' },
      )
      expectWellFormed(events, id)
      const json = ofType(events, 'result')[0]?.results['application/json'] as {
        rows: unknown[][]
        truncated?: boolean
      }
      expect(json.rows).toHaveLength(10_000)
      expect(json.truncated).toBe(true)
      expect(peakMiB(pid!)).toBeLessThan(150)
      // The session's select limit is as it was.
      const limit = await runCode(fx.d, 'SELECT @@SESSION.sql_select_limit AS l', { id, language: 'sql' })
      expect(resultText(limit)).toEqual(['{"columns":["l"],"rows":[["18446744073709551615"]]}'])
    })
  },
)

/** A process's anonymous resident memory (its own heap, not the executable's pages). */
function rssAnonMiB(pid: number): number {
  const kib = /RssAnon:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]
  return Number(kib) / 1024
}
