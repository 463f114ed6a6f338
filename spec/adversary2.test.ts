/**
 * The second attacker's pass: what a hostile or careless client found. A finding with no fix
 * yet is a `test.failing`: it passes while the bug is there and fails, to be turned into a
 * plain test, once the fix lands. No timing: processes are read from /proc.
 */
import { describe, expect, test } from 'bun:test'
import { existsSync } from 'node:fs'
import { pidsWith, postJson, readSse, runCli, waitFor } from './harness'
import { daemonAlone } from './kit/daemon-dir'
import { unendingServer } from './kit/unending-server'

const fx = daemonAlone()

describe('an embedded-SQLite statement that never yields a row', () => {
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
})

describe('the CLI as the client of a server that sends an event without its end', () => {
  // `execd exec --url` kept every byte of an SSE frame until its blank line, searching the
  // whole held text again for each chunk: behind a server that never ends the frame, memory
  // grew without bound and the search took the event loop, so Ctrl-C, meant to end the verb
  // 2 s after it asked the daemon to stop, took 11 s after 12 s of such a stream, and longer
  // the longer it ran.
  test('the verb ends by itself with one line of error once the frame passes its cap', async () => {
    const piece = new TextEncoder().encode('a'.repeat(1 << 20))
    let sent = 0
    const server = unendingServer({
      opening: 'data: {"type":"stdout","text":"',
      pull(c) {
        sent += piece.length
        c.enqueue(piece)
      },
      type: 'text/event-stream',
    })
    try {
      const run = await runCli(['exec', '--url', `http://127.0.0.1:${server.port}`, '--shell', 'echo hi'])
      expect(run.code).toBe(1)
      expect(run.stderr.trim().split('\n')).toHaveLength(1)
      expect(run.stderr).toContain('an event larger than')
      // What the verb read before it gave up is about its cap, not what the server had.
      expect(sent).toBeLessThan(512 * 1024 * 1024)
    } finally {
      server.stop(true)
    }
  }, 60_000)
})

describe('the CLI as the client of a server whose answer never ends', () => {
  // `execd fs --url` read a JSON answer (and an error's body) whole before looking at it:
  // an answer that never ends took memory without bound (RSS 143 -> 248 MiB in 8 s and rising).
  const piece = new TextEncoder().encode('a'.repeat(1 << 20))
  /** `execd fs --url <a server that answers so> ...args`, the server stopped after. */
  const fsBehind = async (status: number, type: string, args: string[], opening = '{"entries":["') => {
    const server = unendingServer({
      opening: type === 'text/html' ? '<html><body>' : opening,
      pull: c => c.enqueue(piece),
      type,
      status,
    })
    try {
      return await runCli(['fs', '--url', `http://127.0.0.1:${server.port}`, ...args])
    } finally {
      server.stop(true)
    }
  }

  test('a 200 JSON answer: the verb gives up past its cap, in one line', async () => {
    const run = await fsBehind(200, 'application/json', ['stat', '/'])
    expect(run.code).toBe(1)
    expect(run.stderr.trim().split('\n')).toHaveLength(1)
    expect(run.stderr).toContain("the server's answer is larger than")
  }, 60_000)

  // A listing is read an element at a time as it comes (cmd/json-items.ts): an answer that is
  // no array is refused at its first byte, an element that never ends past its own cap.
  for (const [opening, said] of [
    ['{"entries":["', 'not an array'],
    ['["', 'an element longer than 1048576 characters'],
  ])
    test(`a 200 JSON listing opening ${opening}: the verb gives up (${said}), in one line`, async () => {
      const run = await fsBehind(200, 'application/json', ['ls', '/'], opening)
      expect(run.code).toBe(1)
      expect(run.stderr.trim().split('\n')).toHaveLength(1)
      expect(run.stderr).toContain(`the server's answer to GET /directories/list is not the contract's: ${said}`)
    }, 60_000)

  test('an answer that should be empty: the verb does not wait for its end', async () => {
    // mkdir: its answer is only a status (rm asks the path's stat first, a JSON answer).
    const run = await fsBehind(200, 'application/json', ['mkdir', '/nothing'])
    expect(run.code).toBe(0)
    expect(run.stderr).toBe('')
  }, 60_000)

  test("a 500 with an HTML page: said to be a web page, not execd's, the rest not read", async () => {
    const run = await fsBehind(500, 'text/html', ['ls', '/'])
    expect(run.code).not.toBe(0)
    expect(run.stderr.trim().split('\n')).toHaveLength(1)
    // Round ten: a web page is named as one (by its title where it has one), not quoted as markup.
    expect(run.stderr).toContain('HTTP 500: a web page (not an execd answer')
  }, 60_000)
})
