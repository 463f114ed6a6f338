/**
 * Interpreter side of the javascript/typescript runtime. The execd executable runs this file
 * as Bun (BUN_BE_BUN=1); it is embedded in the executable as text and written to a private
 * temp dir at start. Protocol: JSON lines both ways on the channel, fd 4 (driver-channel.ts); the
 * driver's messages, and the cell's output, as frames down a pipe of their own, fd 3
 * (driver-output.ts), so user output on stdout/stderr never mixes with them and a message comes
 * after the output written before it.
 *   parent → child: {t:'run', code, k} on the channel; SIGINT interrupts the running cell.
 *   child → parent: ready, bulk {text}, display {bundle}, done {k (the run's key), bundle?, error?,
 *   lost? ('channel': the cell closed fd 4)}
 *   on the pipe; then sent {k, n (the pipe's bytes written so far)} on the channel, where a
 *   cell's own `process.send` goes too.
 */
import { dirname } from 'node:path'
import { Console } from 'node:console'
import { Writable } from 'node:stream'
import { createRequire } from 'node:module'
import { describeError, prepareCell, type Language } from './driver-cell.ts'
import { bundleOf, displayBundle, installLazyDom } from './driver-display.ts'
import { settle, settleFailed, settleWith, stopSettle } from './driver-settle.ts'
import {
  checkScope,
  inCellScope,
  interruptScope,
  leaveCellScope,
  scopeWhatCellsStart,
  thrownByScope,
} from './driver-scope.ts'
import { OutputFrames } from './driver-output.ts'
import { DriverChannel } from './driver-channel.ts'

type Message = Record<string, unknown> & { t: string }

const language = (process.env.EXECD_JS_LANGUAGE ?? 'javascript') as Language
const domPath = process.env.EXECD_JS_DOM
/** execd's pipe for the cell's output is the first fd after stderr, its channel the next. */
const output = new OutputFrames(3)
const channel = new DriverChannel(4, onMessage, () => proc.exit(0))
delete process.env.EXECD_JS_LANGUAGE
delete process.env.EXECD_JS_DOM
const driverDir = dirname(import.meta.path)

// Cells share this global scope: `let process = 1` must not cut the driver off.
const proc = process
const inspect = Bun.inspect
/**
 * The largest message a cell's own `process.send` may put on the driver's channel, as JSON
 * characters (the driver's own output goes in pieces of this size). execd reads a line whole
 * before it can look at it: one cell's 600 MB message took execd to 1.2 GB, and every context
 * could do it at once. Cells get a `process.send` that refuses larger ones, with a clear error
 * (execd stops an interpreter whose line is over twice this: channel.ts).
 * What goes is the JSON measured: a getter, a Proxy or a toJSON that answered small when
 * measured answered 300 M characters when the channel serialised the object again (execd at 635 MB).
 */
const CELL_SEND_MAX = 1 << 20
Object.defineProperty(process, 'send', {
  value: (message: unknown, ...rest: unknown[]) => {
    checkScope()
    const json = JSON.stringify(message)
    const size = json?.length ?? 0
    if (size > CELL_SEND_MAX) {
      throw new RangeError(
        `process.send: a message of ${size} characters is larger than execd takes from a cell (${CELL_SEND_MAX})`,
      )
    }
    // What JSON makes nothing of: undefined and a symbol are refused, as Bun's channel refused
    // them; a function or an object whose toJSON said undefined crossed as nothing, and still does.
    if (json === undefined && typeof message !== 'object' && typeof message !== 'function')
      throw new TypeError(`process.send: a message of type ${typeof message} cannot be sent`)
    if (json !== undefined) channel.sendJson(json)
    // Node's callback, last of its arguments, once the message is on its way.
    const done = rest[rest.length - 1]
    if (typeof done === 'function') queueMicrotask(() => done(null))
    return true
  },
  writable: true,
  configurable: true,
})
// The channel's own: a cell that disconnects ends the driver, as the IPC's 'disconnect' did.
Object.defineProperty(process, 'disconnect', {
  value: () => {
    channel.close()
    proc.exit(0)
  },
  writable: true,
  configurable: true,
})
Object.defineProperty(process, 'connected', { get: () => channel.open, configurable: true })
/** Characters of a bulk piece: execd reads a message whole before it handles it. */
const BULK_PIECE = 256 * 1024

const send = (m: Message) => {
  if (!channel.open) return
  const bulk = m.bundle ? bulkJson(m.bundle as Record<string, unknown>) : undefined
  if (bulk !== undefined) {
    // The bundle's JSON as execd writes it, in pieces: execd frames their bytes as they are,
    // where one message of it all was parsed, measured and stringified again on its event loop.
    for (let i = 0; i < bulk.length;) {
      let end = Math.min(bulk.length, i + BULK_PIECE)
      if (end < bulk.length && isHighSurrogate(bulk.charCodeAt(end - 1))) end-- // a pair stays whole
      output.message({ t: 'bulk', text: bulk.slice(i, end) })
      i = end
    }
    const { bundle: _, ...rest } = m
    output.message({ ...rest, bulk: true })
    return
  }
  output.message(m)
}

/** A bundle sent as its JSON in pieces from this many characters of strings on. */
const BULK_MIN = 64 * 1024

/**
 * The JSON execd would write for a bundle (with the `text` alias it adds), or undefined for a
 * small bundle of strings. A bundle holding any other value (`application/json`'s object) goes
 * as its JSON always: sent whole, the channel serialised it again, however large (a 300 M
 * character object took execd to 1.8 GB), and what it read there need not be what was read here.
 */
function bulkJson(bundle: Record<string, unknown>): string | undefined {
  let size = 0
  let strings = true
  for (const key in bundle) {
    // A key counts as its value does: `_repr_mimebundle_` may name a type of 300 M characters.
    const value = bundle[key]
    size += key.length
    if (typeof value === 'string') size += value.length
    else strings = false
  }
  if (strings && size < BULK_MIN) return undefined
  return JSON.stringify('text/plain' in bundle ? { ...bundle, text: bundle['text/plain'] } : bundle)
}

const isHighSurrogate = (c: number): boolean => c >= 0xd800 && c <= 0xdbff

captureOutput()
installLazyDom(domPath)
installHelpers()

/** Settles the running cell early when SIGINT arrives (only between its await points). */
let interruptRunning: ((e: Error) => void) | null = null
let cellNumber = 0
let queue = Promise.resolve()

proc.on('SIGINT', () => {
  stopSettle()
  if (!interruptRunning) return
  const e = new Error('interrupted')
  e.name = 'KeyboardInterrupt'
  interruptScope(e)
  interruptRunning(e)
})
// A timer or promise of an earlier cell failing must not kill the context: report it.
// While a one-shot run waits for its work to end, the error ends the wait: the run fails with it, as node's.
// An interrupted cell's write that threw is no failure to report: the cell's `done` said it.
proc.on('uncaughtException', e => {
  if (!thrownByScope(e)) settleFailed(e) || output.write('stderr', `Uncaught ${inspect(e)}\n`)
})
proc.on('unhandledRejection', e => {
  if (!thrownByScope(e)) settleFailed(e) || output.write('stderr', `Unhandled rejection: ${inspect(e)}\n`)
})
// After the driver's own SIGINT handler: a cell's signal listeners are added after it.
scopeWhatCellsStart(proc)

function onMessage(m: Message): void {
  // runCell ends with 'done' even when reporting fails; a rejection must not stall the chain.
  if (m?.t === 'run') queue = queue.then(() => runCell(String(m.code), String(m.k))).catch(() => {})
}
await channel.start()
settleWith(channel)
send({ t: 'ready', bun: Bun.version, language })

/** `key` is execd's for this cell: a `done` without it (a cell's own `process.send`) ends nothing. */
async function runCell(code: string, key: string): Promise<void> {
  // The cell's value or error rides on its `done`: one message, one write, one wake-up of execd.
  const done: Message = { t: 'done', k: key }
  try {
    const cwd = proc.cwd()
    provideRequire(cwd)
    const cell = prepareCell(code, language, cwd, ++cellNumber)
    const interrupted = new Promise<never>((_, reject) => (interruptRunning = reject))
    let out: unknown = inCellScope(() => (0, eval)(cell.script))
    if (out instanceof Promise) out = await Promise.race([out, interrupted])
    const value = isReplValue(out) && !cell.endsWithDeclaration ? out.value : undefined
    if (value !== undefined) done.bundle = bundleOf(value)
  } catch (e) {
    done.error = describeError(e, driverDir)
  } finally {
    interruptRunning = null
    leaveCellScope()
    // A cell that closed fd 4 is the one that says so: execd stops the interpreter on this `done`.
    const intact = channel.intact()
    if (!intact) done.lost = 'channel'
    sendDone(done)
    // Where the pipe stands once the `done` is in it, on the channel a cell's frames cannot reach
    // (none when the pipe is gone: execd learns that from its end; nor down an fd 4 that is no
    // longer the channel: it may be a file the cell opened).
    try {
      if (intact && output.whole) channel.send({ t: 'sent', k: key, n: output.written })
    } catch {} // the channel is closed: execd learns that from it
  }
}

/** The cell's `done`; a value that cannot be sent (a BigInt in its bundle) is its error instead. */
function sendDone(done: Message): void {
  try {
    return send(done)
  } catch (e) {
    try {
      return send({ t: 'done', k: done.k, lost: done.lost, error: describeError(e, driverDir) })
    } catch {
      send({ t: 'done', k: done.k, lost: done.lost })
    }
  }
}

let ourRequire: unknown
let ourRequireCwd: string | undefined

/** A `require` for the cwd (which a cell may change), unless the user declared their own. */
function provideRequire(cwd: string): void {
  const g = globalThis as Record<string, unknown>
  if (g.require !== undefined && g.require !== ourRequire) return
  // Made again only when the cwd changed (it was made for every cell).
  if (g.require === ourRequire && ourRequireCwd === cwd) return
  ourRequireCwd = cwd
  ourRequire = g.require = createRequire(`${cwd}/`)
}

/** replMode returns the last expression as `{__proto__: null, value}`. */
function isReplValue(out: unknown): out is { value: unknown } {
  return typeof out === 'object' && out !== null && Object.getPrototypeOf(out) === null && 'value' in out
}

/**
 * console.* and process.stdout/stderr.write go down the output pipe, in order with results and
 * errors. Writes that bypass them (subprocesses, Bun.write(Bun.stdout)) still reach the real
 * fds, which the parent also forwards (Bun.write and node:fs writes to them: driver-scope.ts).
 */
function captureOutput(): void {
  for (const name of ['stdout', 'stderr'] as const) {
    const stream = process[name] as unknown as { write: (...a: unknown[]) => boolean }
    stream.write = (chunk: unknown, enc?: unknown, cb?: unknown) => {
      checkScope()
      // Bytes as they are: a character split between two writes is whole again in execd.
      if (typeof chunk === 'string' || ArrayBuffer.isView(chunk)) output.write(name, bytesOrText(chunk))
      else output.write(name, Buffer.from(chunk as Uint8Array).toString())
      const done = typeof enc === 'function' ? enc : cb
      if (typeof done === 'function') queueMicrotask(() => done())
      return true
    }
  }
  const sink = (name: 'stdout' | 'stderr') =>
    new Writable({
      decodeStrings: false,
      write(chunk, _enc, cb) {
        output.write(name, typeof chunk === 'string' ? chunk : String(chunk))
        cb()
      },
    })
  const captured = new Console({ stdout: sink('stdout'), stderr: sink('stderr'), colorMode: false })
  const target = console as unknown as Record<string, unknown>
  // Checked here, not in the sinks: Console swallows what its stream's write throws.
  for (const key of Object.keys(Object.getPrototypeOf(captured)).concat(Object.keys(captured))) {
    const fn = (captured as unknown as Record<string, unknown>)[key]
    if (typeof fn !== 'function') continue
    const bound = fn.bind(captured)
    target[key] = (...args: unknown[]) => (checkScope(), bound(...args))
  }
}

/** A view's bytes (a Buffer or any typed array), or the string itself. */
function bytesOrText(chunk: string | ArrayBufferView): string | Uint8Array {
  if (typeof chunk === 'string') return chunk
  return new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength)
}

function installHelpers(): void {
  const display = (...values: unknown[]) => {
    checkScope()
    for (const v of values) send({ t: 'display', bundle: displayBundle(v) })
  }
  const as = (mime: string) => (content: unknown) => display({ [mime]: content })
  Object.assign(display, {
    html: as('text/html'),
    svg: as('image/svg+xml'),
    markdown: as('text/markdown'),
    json: as('application/json'),
    png: as('image/png'),
  })
  Object.defineProperty(globalThis, 'display', {
    value: display,
    writable: true,
    configurable: true,
    enumerable: false,
  })
  // The CLI's one-shot run awaits it after the cell (cmd/exec.ts): unseen by a cell's globals.
  Object.defineProperty(globalThis, Symbol.for('execd.settle'), { value: settle, enumerable: false })
}
