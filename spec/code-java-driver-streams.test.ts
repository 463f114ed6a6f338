/**
 * A java cell that replaces System.out or System.err (setOut(null)) while a thread of an earlier
 * cell still runs: the driver flushed System.out after each cell, which threw, ended the
 * driver, and left the JVM alive for as long as that thread ran — the cell's stream waited with
 * it (the fuzz campaign's seed 905113: 60 s for a thread sleeping 60 s). The cell ends now, and
 * the context goes on.
 */
import { beforeAll, expect, test } from 'bun:test'
import { postJson, readSse } from './harness'
import { daemonAlone } from './kit/daemon-dir'

let java = false
const fx = daemonAlone()
beforeAll(async () => {
  const list = (await (await fx.d.fetch('/code/languages')).json()) as { language: string; available: boolean }[]
  java = list.some(l => l.language === 'java' && l.available)
})

const cell = async (id: string, code: string) =>
  (await readSse(await postJson(fx.d, '/code', { code, context: { id, language: 'java' } }))).map(f => f.data)

test('a cell that sets System.out to null beside a running thread ends, and the context goes on', async () => {
  if (!java) return
  const { id } = await (await postJson(fx.d, '/code/context', { language: 'java' })).json()
  try {
    // Not a daemon thread: it keeps the JVM alive on its own for ten minutes.
    const started = await cell(
      id,
      'Thread t = new Thread(() -> { try { Thread.sleep(600_000); } catch (Exception e) {} }); t.start();',
    )
    expect(started.at(-1)?.type).toBe('execution_complete')
    const nulled = await cell(id, 'System.setOut(null); System.setErr(null);')
    expect(nulled.filter(e => e.type === 'error')).toEqual([])
    expect(nulled.at(-1)?.type).toBe('execution_complete')
    // The cell's own doing (jshell's local engine writes through System.out) stays the cell's:
    // the interpreter is the same one, with its state.
    const next = await cell(id, 't.isAlive()')
    expect(next.find(e => e.type === 'error')?.error?.ename ?? 'none').not.toBe('DeadKernelError')
    expect(next.at(-1)?.type).toBe('execution_complete')
  } finally {
    await fx.d.fetch(`/code/contexts/${id}`, { method: 'DELETE' })
  }
}, 60_000)

test('a cell that closes System.out and System.err leaves the next cells their output', async () => {
  if (!java) return
  const { id } = await (await postJson(fx.d, '/code/context', { language: 'java' })).json()
  try {
    const closed = await cell(id, 'System.out.print("before"); System.out.close(); System.err.close();')
    expect(closed.filter(e => e.type === 'stdout').map(e => e.text)).toEqual(['before'])
    // A closed PrintStream swallows what is written to it: these were lost, and every later cell's.
    const next = await cell(id, 'System.out.print("after"); System.err.print("warned");')
    expect(next.filter(e => e.type === 'stdout' || e.type === 'stderr').map(e => [e.type, e.text])).toEqual([
      ['stdout', 'after'],
      ['stderr', 'warned'],
    ])
    expect(next.at(-1)?.type).toBe('execution_complete')
  } finally {
    await fx.d.fetch(`/code/contexts/${id}`, { method: 'DELETE' })
  }
}, 60_000)
