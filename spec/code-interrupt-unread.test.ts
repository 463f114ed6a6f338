/**
 * An interrupt of a cell whose client stopped reading: the request that starts a cell paces it
 * (backpressure down to the interpreter), and the stopped cell's end comes behind its output.
 * The stop must land anyway and keep the context's state — a client that reads nothing must not
 * turn an interrupt into the grace's kill.
 */
import { describe, expect, test } from 'bun:test'
import { daemonAlone } from './kit/daemon-dir'
import { postUnread } from './kit/narrow-reader'
import { pythonAvailable } from './python-env'
import { createContext, ofType, runCode } from './runtime-kit'

const cases = [
  {
    language: 'python',
    skip: pythonAvailable !== true,
    set: 'x = 41',
    flood: 'while True: print("y" * 1000)',
    read: 'print(x + 1)',
  },
  {
    language: 'bash',
    skip: false,
    set: 'x=41',
    flood: 'while :; do echo "$x yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy"; done',
    read: 'echo $((x + 1))',
  },
]

describe('a flooding cell whose client reads nothing', () => {
  const fx = daemonAlone()

  for (const c of cases) {
    test.skipIf(c.skip)(
      `${c.language}: lands, and the context keeps its state`,
      async () => {
        const id = await createContext(fx.d, c.language)
        expect((await runCode(fx.d, c.set, { id })).some(e => e.type === 'error')).toBe(false)
        const silent = await postUnread(fx.d, '/code', { code: c.flood, context: { id } })
        try {
          // Long enough for the flood to fill the socket, the journal and the pipe on a loaded
          // machine; shorter only makes the test pass without showing anything.
          await Bun.sleep(3000)
          const stop = await fx.d.fetch(`/code?id=${id}`, { method: 'DELETE' })
          expect(stop.status).toBe(200)
          const after = await runCode(fx.d, c.read, { id })
          // Killed by the grace instead, the interpreter came back fresh: a state_lost status, no x.
          expect(after.filter(e => e.type === 'status' && (e as { state_lost?: boolean }).state_lost)).toEqual([])
          expect(
            ofType(after, 'stdout')
              .map(e => e.text)
              .join(''),
          ).toBe('42\n')
        } finally {
          await silent.close()
        }
      },
      60_000,
    )

    test.skipIf(c.skip)(
      `${c.language}: a deleted context's cell ends too`,
      async () => {
        const id = await createContext(fx.d, c.language)
        const silent = await postUnread(fx.d, '/code', { code: c.flood, context: { id } })
        try {
          const exec = /execd-execution-id: *(\w+)/i.exec(silent.first)?.[1]
          expect(exec).toBeDefined()
          await Bun.sleep(3000)
          expect((await fx.d.fetch(`/code/contexts/${id}`, { method: 'DELETE' })).status).toBe(200)
          // A watcher's replay ends once the execution has: before, not until the client hung up.
          const replay = await fx.d.fetch(`/code/executions/${exec}/events`, { signal: AbortSignal.timeout(20_000) })
          expect(await replay.text()).toContain('"type":"execution_complete"')
        } finally {
          await silent.close()
        }
      },
      60_000,
    )
  }
})
