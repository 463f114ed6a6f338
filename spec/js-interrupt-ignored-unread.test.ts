/**
 * A javascript cell that writes in a synchronous loop never sees its interrupt (the driver hears
 * SIGINT on its event loop): its interpreter is killed after the grace. With its client reading
 * nothing, the stop must still answer once that kill is done — the fortieth attacker's pass saw
 * its `DELETE /code?id=` unanswered for minutes (that was its client's own receive window: read
 * through a 4 KiB SO_RCVBUF set after connecting, the stream came at 40 KB/s, a python
 * http.server's file as slowly) — and the next cell, in a fresh interpreter, has its own output.
 */
import { describe, expect, test } from 'bun:test'
import { daemonAlone } from './kit/daemon-dir'
import { postUnread } from './kit/narrow-reader'
import { createContext, ofType, resultText, runCode } from './runtime-kit'

const GRACE_MS = 500

const floods = [
  { kind: 'console.log', code: "for (;;) console.log('y'.repeat(1 << 20))" },
  { kind: 'display', code: "for (;;) display({ 'text/plain': 'y'.repeat(1 << 20) })" },
]

describe('a javascript cell flooding synchronously, its client reading nothing', () => {
  const fx = daemonAlone(() => ['--code-interrupt-grace', String(GRACE_MS)])

  for (const flood of floods) {
    test(`${flood.kind}: the interrupt answers once the grace's kill is done, and the next cell is clean`, async () => {
      const id = await createContext(fx.d, 'javascript')
      const silent = await postUnread(fx.d, '/code', { code: flood.code, context: { id } })
      try {
        // 1 MiB a write: the pipe, the 1 MiB queue and the socket are full within this.
        await Bun.sleep(1000)
        // Bounded well past the grace: a stop held by the unread stream fails here, not at the test's timeout.
        const stop = await fx.d.fetch(`/code?id=${id}`, { method: 'DELETE', signal: AbortSignal.timeout(20_000) })
        expect(stop.status).toBe(200)
        const after = await runCode(fx.d, 'console.log("mine"); 1 + 1', { id })
        expect(
          ofType(after, 'stdout')
            .map(e => e.text)
            .join(''),
        ).toBe('mine\n')
        expect(resultText(after)).toEqual(['2'])
        // It ran in a fresh interpreter, and says so.
        expect(ofType(after, 'status').some(e => e.state_lost)).toBe(true)
      } finally {
        await silent.close()
      }
    }, 60_000)
  }
})
