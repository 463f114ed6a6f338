/**
 * A javascript cell displaying in a synchronous loop never sees its interrupt (the driver hears
 * SIGINT on its event loop), and runs on until the grace's kill. Once stopped, its queue no longer
 * waits for its reader, and drops output past its bound; its displays were queued whatever their
 * number: at grace 500 ms ~300 displays of 1 MiB (631 MB) lay in spilled files for a client that
 * read nothing. They are dropped past the bound as its output is, counted in its stderr notice.
 */
import { describe, expect, test } from 'bun:test'
import { daemonAlone } from './kit/daemon-dir'
import { postUnread } from './kit/narrow-reader'
import { createContext } from './runtime-kit'

const GRACE_MS = 500
describe('an interrupted javascript cell displaying synchronously, its client reading nothing', () => {
  const fx = daemonAlone(() => ['--code-interrupt-grace', String(GRACE_MS)])

  test('its displays past the queue bound are dropped and counted, not kept for the client', async () => {
    const id = await createContext(fx.d, 'javascript')
    const flood = "for (;;) display({ 'text/plain': 'y'.repeat(1 << 20) })"
    const silent = await postUnread(fx.d, '/code', { code: flood, context: { id } })
    try {
      const exec = /execd-execution-id: *(\w+)/i.exec(silent.first)?.[1]
      expect(exec).toBeDefined()
      // 1 MiB a display: the pipe, the queue and the socket are full within this.
      await Bun.sleep(1000)
      const stop = await fx.d.fetch(`/code?id=${id}`, { method: 'DELETE', signal: AbortSignal.timeout(20_000) })
      expect(stop.status).toBe(200)
      // Everything the execution kept, from its start (the unread client holds it for replay).
      const replay = await fx.d.fetch(`/code/executions/${exec}/events`, { signal: AbortSignal.timeout(30_000) })
      const text = await replay.text()
      expect(text).toContain('"type":"execution_complete"')
      // The replay holds the execution's last events (its journal's bound): the notice is among them.
      expect(text).toMatch(/\[execd: [1-9]\d* displays dropped while the cell was stopped/)
    } finally {
      await silent.close()
    }
  }, 60_000)
})
