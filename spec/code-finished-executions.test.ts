/**
 * Finished code executions kept for replay keep bounded journals (the fifth attacker's pass):
 * neither the large values their journals already dropped nor more than 64 MiB of journals
 * together. Each test fails on the executable before its fix; memory is read from /proc.
 */
import { describe, expect, test } from 'bun:test'
import { postJson, startDaemon } from './harness'
import { anonMiB } from './kit/anon'
import { pythonAvailable } from './python-env'

describe.skipIf(pythonAvailable !== true)('finished code executions', () => {
  // A journal passes a dropped event's slot on without clearing it until 1,024 drops have piled
  // up, and each of the 128 finished executions kept for replay keeps its journal: a cell's
  // 8 MB value (dropped from the journal as soon as it was sent) stayed in memory with it —
  // 20 such cells grew execd's RssAnon by 330 MiB, 40 by 640, linearly up to 128 of them.
  test('do not keep the large values their journals dropped', async () => {
    const d = await startDaemon()
    try {
      const anon = () => anonMiB(d.proc.pid)
      // Read whole, not parsed: the harness's SSE parser is slow on 16 MB frames.
      const cell = async (code: string) => {
        const body = await (await postJson(d, '/code', { code, context: { language: 'python' } })).text()
        expect(body).toContain('"type":"execution_complete"')
        return body
      }
      await cell('1')
      const before = anon()
      for (let i = 0; i < 24; i++)
        expect(await cell(`'${'abcdefghijkl'[i % 12]}' * 8_000_000`)).toContain('"type":"result"')
      // Retained, it grows by 16 MiB a cell (+460); what is left is garbage the GC has not taken yet.
      expect(anon() - before).toBeLessThan(192)
    } finally {
      await d.stop()
    }
  }, 120_000)

  // Each journal holds up to 4 MiB, and 128 finished executions were kept whatever their size:
  // up to 512 MiB for 15 minutes (cells of 1 MB values, 2 MB of events each: +232 MiB for 90).
  // Now all of them together keep 64 MiB of journals, the oldest forgotten first. 150 cells of
  // 2 MB values: kept, +600 MiB; what is left is garbage the GC has not taken yet, which varied
  // 76–186 MiB over 90 cells of 1 MB from run to run, hence the margin.
  test('keep journals of 64 MiB together, the newest replayable', async () => {
    const d = await startDaemon()
    try {
      const anon = () => anonMiB(d.proc.pid)
      const cell = async (code: string) => {
        const res = await postJson(d, '/code', { code, context: { language: 'python' } })
        expect(await res.text()).toContain('"type":"execution_complete"')
        return res.headers.get('execd-execution-id')
      }
      await cell('1')
      const before = anon()
      const ids: (string | null)[] = []
      for (let i = 0; i < 150; i++) ids.push(await cell(`'${i % 10}' * 2_000_000`))
      expect(anon() - before).toBeLessThan(320)
      const replay = await d.fetch(`/code/executions/${ids.at(-1)}/events`)
      expect(replay.status).toBe(200)
      expect(await replay.text()).toContain(`'9999`)
      expect((await d.fetch(`/code/executions/${ids[0]}/events`)).status).toBe(404)
    } finally {
      await d.stop()
    }
  }, 120_000)
})
