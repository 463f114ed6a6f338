/**
 * The second attacker's pass: what a hostile or careless client found. A finding with no fix
 * yet is a `test.failing`: it passes while the bug is there and fails, to be turned into a
 * plain test, once the fix lands. No timing: threads are read from /proc.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { readFileSync, readdirSync } from 'node:fs'
import { postJson, readSse, startDaemon, waitFor, type Daemon } from './harness'

let d: Daemon
beforeAll(async () => {
  d = await startDaemon()
})
afterAll(async () => {
  await d?.stop()
})

/** The daemon's threads named `name` (Bun's Worker threads are all called "Worker"). */
function threadsNamed(pid: number, name: string): number {
  let n = 0
  for (const task of readdirSync(`/proc/${pid}/task`)) {
    try {
      if (readFileSync(`/proc/${pid}/task/${task}/comm`, 'utf8').trim() === name) n++
    } catch {}
  }
  return n
}

describe('an embedded-SQLite statement that never yields a row', () => {
  // `count(*)` over an endless recursive CTE is one SQLite step that never returns. The
  // interrupt flag is read between rows only, and DELETE of the context terminates the
  // Worker, which Bun can only do once SQLite hands control back: never. The thread keeps a
  // core busy after its context is gone (measured: ~95% of a core, for as long as execd
  // lives), and each such context adds one. bun:sqlite offers neither sqlite3_interrupt nor a
  // progress handler, and its library is linked in statically (no symbol to reach by FFI):
  // the fix needs SQLite in a process execd can kill.
  test.failing(
    'DELETE of the context ends the thread that runs it',
    async () => {
      const created = await postJson(d, '/code/context', { language: 'sql' })
      expect(created.status).toBe(200)
      const id = (await created.json()).id as string
      const before = threadsNamed(d.proc.pid, 'Worker')
      const endless = 'WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c'
      const run = await postJson(d, '/code', { context: { id, language: 'sql' }, code: endless })
      expect(run.status).toBe(200)
      // The statement has started once the cell is counted.
      await readSse(run, f => f.data.type === 'execution_count')
      expect((await d.fetch(`/code/contexts/${id}`, { method: 'DELETE' })).status).toBe(200)
      await waitFor(
        "the deleted context's SQLite thread to end",
        () => threadsNamed(d.proc.pid, 'Worker') < before,
        10_000,
      )
    },
    30_000,
  )
})
