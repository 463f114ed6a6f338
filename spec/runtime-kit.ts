/**
 * The shared runtime test kit: every language runtime runs the same contract tests through the
 * compiled executable over HTTP (state across cells, result value, error + traceback, streamed
 * output, interrupt keeping state, interpreter death → recovery), parameterized by a few
 * snippets in its language.
 *
 *   describeRuntimeKit({ language: 'python', available: true, snippets: { ... } })
 */
import { beforeAll, describe, expect, test } from 'bun:test'
import { postJson, readSse, type Daemon } from './harness'
import { daemonAlone, type Start } from './kit/daemon-dir'

export interface RuntimeKitSnippets {
  /** Sets some state, e.g. `x = 41`. */
  setState: string
  /** An expression reading it, e.g. `x + 1`. */
  readState: string
  /** The `text/plain` result of readState, e.g. `42`. */
  expectedState: string
  /**
   * Where readState's value appears: a `result` event (default), or printed to stdout for
   * languages without expression values (bash), compared trimmed.
   */
  stateVia?: 'result' | 'stdout'
  /** Prints a line containing "first", sleeps about a second, prints a line containing "second". */
  printSleepPrint: string
  /** Fails with an error whose name is expectedErrorName. */
  error: string
  expectedErrorName: string
  /** Runs for ~30 s unless interrupted. */
  sleepLong: string
  /** Error name a cell interrupted by `DELETE /code?id=` reports (any name if absent). */
  expectedInterruptName?: string
  /** Kills its own interpreter (e.g. SIGKILL to itself). */
  crash: string
  /**
   * A death's traceback, said alike by every runtime: the exit in os/exec's words as its one line
   * (bash's had a second; python's and JavaScript's the sentence the evalue already holds).
   */
  crashTraceback?: string[]
  /**
   * Cells that declare a variable and end with an expression reading it (`const a = 4;\na`):
   * each must yield `expected` as its result, whatever was declared before the last
   * statement. Absent for languages without expression values.
   */
  declareThenRead?: { cells: string[]; expected: string }
}

export interface RuntimeKitOptions {
  language: string
  snippets: RuntimeKitSnippets
  /** true, or the reason the interpreter is missing here (the tests are skipped, visibly). */
  available: true | string
  /** Extra `execd serve` flags and environment (e.g. --jupyter-host). */
  args?: string[]
  env?: Record<string, string>
}

/** One SSE event's JSON as the daemon sent it. */
export type WireEvent = Record<string, any>

/** Runs code through `POST /code` and returns every event of the stream. */
export async function runCode(
  d: Daemon,
  code: string,
  context: { id?: string; language?: string },
): Promise<WireEvent[]> {
  const res = await postJson(d, '/code', { code, context })
  if (res.status !== 200) throw new Error(`POST /code answered ${res.status}: ${await res.text()}`)
  return (await readSse(res)).map(f => f.data)
}

/**
 * Runs code through `POST /code`, interrupts it with `DELETE /code?id=` once `startMs` have
 * passed (the cell has started), and returns every event of its stream.
 */
export async function runInterrupted(
  d: Daemon,
  code: string,
  context: { id: string; language?: string },
  startMs = 300,
): Promise<WireEvent[]> {
  const reading = readSse(await postJson(d, '/code', { code, context }))
  await Bun.sleep(startMs)
  expect((await d.fetch(`/code?id=${context.id}`, { method: 'DELETE' })).status).toBe(200)
  return (await reading).map(f => f.data)
}

export async function createContext(d: Daemon, language: string, cwd?: string): Promise<string> {
  const res = await postJson(d, '/code/context', cwd ? { language, cwd } : { language })
  const body = await res.json()
  if (res.status !== 200) throw new Error(`POST /code/context answered ${res.status}: ${JSON.stringify(body)}`)
  return body.id
}

/** A daemon of the describe's own (kit/daemon-dir.ts) with one `language` context, `id`, opened before its first test. */
export function daemonWithContext(language: string, start?: () => Start): { d: Daemon; id: string } {
  const fx = daemonAlone(start) as { d: Daemon; id: string }
  beforeAll(async () => {
    // no daemon (a start of null): the file's tests all skip
    if (fx.d) fx.id = await createContext(fx.d, language)
  })
  return fx
}

export const ofType = (events: WireEvent[], type: string) => events.filter(e => e.type === type)
export const resultText = (events: WireEvent[]) => ofType(events, 'result').map(e => e.results['text/plain'])
export const stdoutText = (events: WireEvent[]) =>
  ofType(events, 'stdout')
    .map(e => e.text)
    .join('')

/** Every code stream: init first, then ping, and exactly one execution_complete, last. */
export function expectWellFormed(events: WireEvent[], contextId?: string): void {
  expect(events[0]?.type).toBe('init')
  if (contextId) expect(events[0]?.text).toBe(contextId)
  expect(events[1]?.type).toBe('ping')
  expect(ofType(events, 'execution_complete')).toHaveLength(1)
  expect(events.at(-1)?.type).toBe('execution_complete')
}

export function describeRuntimeKit(opts: RuntimeKitOptions): void {
  const { language, snippets: s } = opts
  const skip = opts.available !== true
  const title = `runtime kit: ${language}${skip ? ` (skipped: ${opts.available})` : ''}`

  describe.skipIf(skip)(title, () => {
    const fx = daemonAlone(() => ({ args: opts.args, env: opts.env }))

    test('state set in one cell is read in the next', async () => {
      const id = await createContext(fx.d, language)
      const set = await runCode(fx.d, s.setState, { id, language })
      expectWellFormed(set, id)
      expect(ofType(set, 'error')).toEqual([])
      const read = await runCode(fx.d, s.readState, { id, language })
      expectWellFormed(read, id)
      if (s.stateVia === 'stdout') return expect(stdoutText(read).trim()).toBe(s.expectedState)
      const result = ofType(read, 'result').at(-1)
      expect(result?.results['text/plain']).toBe(s.expectedState)
      expect(result?.results.text).toBe(s.expectedState)
    })

    test.skipIf(!s.declareThenRead)(
      'a cell ending with an expression after declarations yields its value',
      async () => {
        const id = await createContext(fx.d, language)
        for (const code of s.declareThenRead!.cells) {
          const events = await runCode(fx.d, code, { id, language })
          expectWellFormed(events, id)
          expect([code, resultText(events)]).toEqual([code, [s.declareThenRead!.expected]])
        }
      },
    )

    test('an error gives an error event with a traceback, then execution_complete', async () => {
      const id = await createContext(fx.d, language)
      const events = await runCode(fx.d, s.error, { id, language })
      expectWellFormed(events, id)
      const [error] = ofType(events, 'error')
      expect(error?.error.ename).toBe(s.expectedErrorName)
      expect(Array.isArray(error?.error.traceback)).toBe(true)
      expect(error?.error.traceback.length).toBeGreaterThan(0)
      expect(error && events.indexOf(error)).toBe(events.length - 2)
    })

    test('output is streamed: a cell printing, sleeping, printing arrives as two stdout events', async () => {
      const id = await createContext(fx.d, language)
      const events = await runCode(fx.d, s.printSleepPrint, { id, language })
      expectWellFormed(events, id)
      const outs = ofType(events, 'stdout')
      const first = outs.findIndex(e => e.text.includes('first'))
      const second = outs.findIndex(e => e.text.includes('second'))
      expect(first).toBeGreaterThanOrEqual(0)
      expect(second).toBeGreaterThan(first)
    })

    test('DELETE /code?id= interrupts a long cell promptly and the context keeps its state', async () => {
      const id = await createContext(fx.d, language)
      await runCode(fx.d, s.setState, { id, language })
      const res = await postJson(fx.d, '/code', { code: s.sleepLong, context: { id, language } })
      const reading = readSse(res)
      await Bun.sleep(500) // let the cell start
      const started = Date.now()
      const del = await fx.d.fetch(`/code?id=${id}`, { method: 'DELETE' })
      expect(del.status).toBe(200)
      const events = (await reading).map(f => f.data)
      // The cell would run ~30 s; an interrupt that works ends it within a few seconds at most.
      expect(Date.now() - started).toBeLessThan(10_000)
      expectWellFormed(events, id)
      const [error] = ofType(events, 'error')
      expect(error).toBeDefined()
      if (s.expectedInterruptName) expect(error?.error.ename).toBe(s.expectedInterruptName)
      expect(valueOf(await runCode(fx.d, s.readState, { id, language }))).toBe(s.expectedState)
    }, 20_000)

    test('an interpreter that dies ends the stream with an error; the next run gets a fresh one', async () => {
      const id = await createContext(fx.d, language)
      await runCode(fx.d, s.setState, { id, language })
      const crash = await runCode(fx.d, s.crash, { id, language })
      expectWellFormed(crash, id)
      expect(ofType(crash, 'error')).toHaveLength(1)
      if (s.crashTraceback) {
        const { error } = ofType(crash, 'error')[0]!
        expect(error).toMatchObject({ ename: 'DeadKernelError', traceback: s.crashTraceback })
        expect(error.evalue).toContain(`(${s.crashTraceback[0]})`)
      }
      const after = await runCode(fx.d, s.setState, { id, language })
      expectWellFormed(after, id)
      expect(after[0]?.state_lost).toBe(true)
      expect(valueOf(await runCode(fx.d, s.readState, { id, language }))).toBe(s.expectedState)
    }, 20_000)
  })

  function valueOf(events: WireEvent[]): string | undefined {
    return s.stateVia === 'stdout' ? stdoutText(events).trim() : resultText(events).at(-1)
  }
}
