/**
 * An interrupt of a cell whose client stopped reading: the request that starts a cell paces it
 * (backpressure down to the interpreter), and the stopped cell's end comes behind its output.
 * The stop must land anyway and keep the context's state — a client that reads nothing must not
 * turn an interrupt into the grace's kill — and nothing of the stopped cell may reach the next
 * one's stream: a javascript cell that awaits between its lines went on writing after its
 * interrupt (an async function cannot be stopped), and the next cells' streams had its lines.
 */
import { describe, expect, test } from 'bun:test'
import { daemonAlone } from './kit/daemon-dir'
import { postUnread } from './kit/narrow-reader'
import { pythonAvailable } from './python-env'
import { createContext, ofType, runCode } from './runtime-kit'

interface Case {
  language: string
  /** What the test's name says of the flood, where a runtime has several. */
  label?: string
  skip: boolean
  set: string
  flood: string
  read: string
  /** ms for the flood to fill what lies between it and its client. */
  fillMs: number
  /** Also checked: a deleted context's cell ends (once per runtime: the same path for all floods). */
  deleted: boolean
}

const cases: Case[] = [
  {
    language: 'python',
    skip: pythonAvailable !== true,
    set: 'x = 41',
    flood: 'while True: print("y" * 1000)',
    read: 'print(x + 1)',
    // Long enough for the flood to fill the socket, the journal and the pipe on a loaded
    // machine; shorter only makes the test pass without showing anything.
    fillMs: 3000,
    deleted: true,
  },
  {
    language: 'bash',
    skip: false,
    set: 'x=41',
    flood: 'while :; do echo "$x yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy"; done',
    read: 'echo $((x + 1))',
    fillMs: 3000,
    deleted: true,
  },
  // Awaiting between its writes, the cell sees the interrupt; what it awaits gave its lines a
  // way past its end. Its 1 KB lines fill the 1 MiB queue within a second.
  {
    language: 'javascript',
    label: 'console.log, Bun.sleep between',
    skip: false,
    set: 'var x = 41',
    flood: "for (;;) { console.log('y'.repeat(1000)); await Bun.sleep(0) }",
    read: 'console.log(x + 1)',
    fillMs: 1000,
    deleted: true,
  },
  // Bun.write goes to the raw fd 1, around console: execd gives what comes there to the running cell.
  {
    language: 'javascript',
    label: 'Bun.write to stdout, Bun.sleep between',
    // Skipped, a known gap (stop 57's closing note): the interrupted cell's own Bun.write still
    // pending on the full pipe completes after its `done`, and at times after the next cell began
    // (CI6; 1 run in 11 for the helper): a line of it lands there. New writes are refused (98
    // lines before); the pending one is not yet awaited before `done`.
    skip: true,
    set: 'var x = 41',
    flood: "for (;;) { await Bun.write(Bun.stdout, 'y'.repeat(1000) + '\\n'); await Bun.sleep(0) }",
    read: 'console.log(x + 1)',
    fillMs: 1000,
    deleted: false,
  },
  // As raw, through node:fs (stop 57): not checked, its lines went on into every later cell.
  {
    language: 'javascript',
    label: 'fs.writeSync to fd 1 in a timer',
    skip: false,
    set: 'var x = 41',
    flood:
      "setInterval(() => require('node:fs').writeSync(1, 'y'.repeat(1000) + '\\n'), 2); await new Promise(() => {})",
    // A cell that lasts: what the stopped one writes meanwhile would be its.
    read: 'await Bun.sleep(200); console.log(x + 1)',
    fillMs: 1000,
    deleted: false,
  },
  // A worker logs through its own console, fd 1 itself: it outlived its cell's interrupt (stop 57).
  {
    language: 'javascript',
    label: 'a Worker logging, the cell awaiting',
    skip: false,
    set: 'var x = 41',
    flood:
      'new Worker(URL.createObjectURL(new Blob(["setInterval(() => console.log(\'y\'.repeat(1000)), 2)"]))); await new Promise(() => {})',
    read: 'await Bun.sleep(200); console.log(x + 1)',
    fillMs: 1000,
    deleted: false,
  },
  // A signal listener ran in no cell's scope: it wrote into the cell that raised the signal (stop 57).
  {
    language: 'javascript',
    label: 'a signal listener, the cell awaiting',
    skip: false,
    set: 'var x = 41',
    flood: "process.on('SIGUSR2', () => console.log('y')); await new Promise(() => {})",
    read: "process.kill(process.pid, 'SIGUSR2'); await Bun.sleep(200); console.log(x + 1)",
    fillMs: 300,
    deleted: false,
  },
  {
    language: 'javascript',
    label: 'display, a timer between',
    skip: false,
    set: 'var x = 41',
    flood: "for (;;) { display({ 'text/plain': 'y'.repeat(1000) }); await new Promise(r => setTimeout(r, 0)) }",
    read: 'console.log(x + 1)',
    fillMs: 1000,
    deleted: false,
  },
]

describe('a flooding cell whose client reads nothing', () => {
  const fx = daemonAlone()

  for (const c of cases) {
    const name = c.label ? `${c.language} (${c.label})` : c.language
    test.skipIf(c.skip)(
      `${name}: lands, the context keeps its state, and the next cell has its own output only`,
      async () => {
        const id = await createContext(fx.d, c.language)
        expect((await runCode(fx.d, c.set, { id })).some(e => e.type === 'error')).toBe(false)
        const silent = await postUnread(fx.d, '/code', { code: c.flood, context: { id } })
        try {
          await Bun.sleep(c.fillMs)
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
          expect(ofType(after, 'result')).toEqual([])
        } finally {
          await silent.close()
        }
      },
      60_000,
    )

    if (!c.deleted) continue
    test.skipIf(c.skip)(
      `${name}: a deleted context's cell ends too`,
      async () => {
        const id = await createContext(fx.d, c.language)
        const silent = await postUnread(fx.d, '/code', { code: c.flood, context: { id } })
        try {
          const exec = /execd-execution-id: *(\w+)/i.exec(silent.first)?.[1]
          expect(exec).toBeDefined()
          await Bun.sleep(c.fillMs)
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
