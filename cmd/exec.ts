/**
 * `execd exec <language> [code | -f file | -]`: runs code in a fresh context of that language,
 * here (the code section, without HTTP) or on a daemon (--url). Output goes to the terminal,
 * text results are printed (a table for rows and columns; not a one-shot run's last value, as
 * python3 -c: one-shot-values.ts), images are written to files (path printed), and an error
 * exits 1. `--json` prints the events. On a terminal with no code it
 * opens a prompt on the same context (repl.ts).
 */
import { ExecdError } from '../core/errors'
import { describeExit } from '../core/exit-words'
import { setLongTimeout } from '../core/timers'
import { encodeEvent, type ExecEvent } from '../core/events'
import { watchBrokenPipe } from './broken-pipe'
import { flush, ownLine, put, room } from './paced-output'
import { localCode, remoteCode, type CodeClient } from './code-client'
import { UsageError, plainMessage } from './errors'
import { onStop, signalExit, stopSignal, TIMEOUT_EXIT } from './lifecycle'
import { configFrom, parseEnvPairs } from './options'
import { remoteOf, STREAM_CUT } from './remote'
import { leaving, saidUnlessAnswered } from './daemon-quiet'
import { visible } from './visible'
import { exitCodeOf, pythonExit } from './exit-calls'
import { cellExit, crashEcho, render } from './cell-print'
import { readSource } from './code-source'
import { isJs, isValue, oneShotSource } from './one-shot-values'

export interface ExecOptions {
  file?: string
  cwd?: string
  env?: string | string[]
  timeout?: string | number
  /** The --timeout given, when `timeout` is what is left of it (the wait for a cell's timers). */
  timeoutAsked?: number
  json?: boolean
  list?: boolean
  url?: string
  [flag: string]: unknown
}

export async function execCode(language: string | undefined, code: string[], options: ExecOptions): Promise<number> {
  const envs = parseEnvPairs(options.env)
  const remote = remoteOf(options)
  if (remote && envs) throw new UsageError('--env sets the environment of a local run; a daemon has its own')
  // Contexts inherit execd's environment, so the CLI's --env pairs go there.
  Object.assign(process.env, envs)
  // From here on a signal ends the verb through its cleanups (its interpreter killed, 128 + the
  // signal), not by the signal's default action: Ctrl-C while a JVM started (seconds) or as a
  // prompt's line was being sent left the interpreter running without its execd.
  onStop()
  // One context, then exit: no spare interpreter to keep ready unless asked. cac gives the flag
  // as pythonSpare, which the kebab-case default outranked: `--python-spare 2` was never read.
  const spare = options.pythonSpare ?? options['python-spare'] ?? '0'
  const client = remote ? remoteCode(remote) : await localCode(configFrom({ ...options, 'python-spare': spare }))
  try {
    if (options.list) return await listLanguages(client, !!options.json)
    if (!language) throw new UsageError('which language? (execd exec --list shows them)')
    const source = await readSource(code, options.file)
    if (source === undefined && process.stdin.isTTY && process.stdout.isTTY) {
      const { repl } = await import('./repl')
      return await repl(client, language, options)
    }
    if (source === undefined) throw new UsageError('no code: pass it as an argument, with -f FILE, or on stdin (-)')
    const context = await openContext(client, language, options.cwd)
    const stopped = stopSignal()
    if (stopped) return signalExit(stopped)
    // What a person reads: no last value (one-shot-values.ts); --json keeps every event.
    const cell = options.json ? source : oneShotSource(language, source)
    return (await runCell(client, { language, id: context }, cell, options)).status
  } finally {
    await client.close()
  }
}

/**
 * A context of `language`. A language the runtime does not list is a typo (exit 2, the wire's
 * words and code); any other refusal (a working directory through a file, a runtime missing
 * here) is the thing's (1). The list is asked only after a refusal: a start costs nothing more.
 */
export async function openContext(client: CodeClient, language: string, cwd?: string): Promise<string> {
  try {
    return await client.open(language, cwd)
  } catch (err) {
    if (!(err instanceof ExecdError) || err.code !== 'INVALID_REQUEST_BODY') throw err
    const known = await client.languages().then(
      all => all.some(l => l.language === language),
      () => true,
    )
    if (known) throw err
    throw new UsageError(plainMessage(err), err.code)
  }
}

/** How a cell ended: the verb's status, and whether it was the language's exit call. */
export interface CellEnd {
  status: number
  /** `sys.exit()`, `process.exit(4)`, bash's `exit 5`: a prompt ends on it, as the language's own. */
  exitCall?: boolean
}

/**
 * Runs one cell and prints it. Ctrl-C (SIGINT) interrupts the cell, state kept, as over HTTP;
 * SIGTERM and SIGHUP too, and the verb then exits 128 + the signal; a second signal gives up
 * at once. A closed stdout interrupts it and exits 141; --timeout interrupts it and exits 124.
 */
export async function runCell(
  client: CodeClient,
  context: { language: string; id: string },
  source: string,
  options: ExecOptions,
  interactive = false,
  settling = false,
): Promise<CellEnd> {
  const started = performance.now()
  let id: string | undefined
  let interrupted = false
  // At a prompt, Ctrl-C before the daemon has answered the run (it is stopped, or stuck) gives
  // up on the request: with no id there was nothing to interrupt, and the prompt came back only
  // when --answer-timeout ran out (60 s), or never with 0. A one-shot run ends on its deadline.
  const unanswered = new AbortController()
  // At a prompt, an interrupt not taken within a second (a daemon stopped with SIGSTOP, a cell
  // deaf to it) is said: Ctrl-C seemed ignored, with nothing to tell that a second one leaves.
  let unsay = () => {}
  const interrupt = () => {
    const first = !interrupted
    interrupted = true
    if (id === undefined) return void (interactive && unanswered.abort())
    const asked = client.interrupt(id).catch(() => {})
    if (!first) return
    // A one-shot run on a daemon stopped mid-cell left 3 s after Ctrl-C (the stop's deadline)
    // without a word, its context left there. Here its interpreter dies with execd: nothing to say.
    const said = interactive ? NOT_STOPPED : client.base && stopSignal() && leaving(client.base, 'cell')
    if (!said) return
    unsay = saidUnlessAnswered(asked, said)
  }
  // Listened for before the run is asked: a Ctrl-C while it was on its way (the wait after a
  // one-shot javascript cell is one more run) ended execd at once, the daemon's context left.
  // At a prompt Ctrl-C asks for the prompt back, and gets it: a cell deaf to the interrupt (a
  // javascript `while (true) {}`) is ended by the daemon past its interrupt grace, its
  // interpreter started again. The verb's own deadline (3 s) came first and ended the prompt,
  // 130. A second Ctrl-C still gives up at once.
  const stop = onStop(interrupt, undefined, interactive ? ['SIGINT'] : [])
  let events: AsyncIterable<ExecEvent>
  try {
    ;({ id, events } = await client.run(context.id, source, unanswered.signal))
  } catch (err) {
    stop()
    if (unanswered.signal.aborted) throw new Error(UNANSWERED)
    throw err
  }
  if (interrupted) interrupt()
  const pipe = watchBrokenPipe(interrupt)
  const timeout = Number(options.timeout ?? 0)
  // A long timer: setTimeout took --timeout 3000000000 as 1 ms and interrupted the cell at once.
  let timedOut = false
  const timer =
    timeout > 0
      ? setLongTimeout(() => {
          timedOut = true
          interrupt()
        }, timeout)
      : undefined
  let failed = false
  let status: number | undefined
  let systemExit: ExecEvent['error']
  let firstError: ExecEvent['error']
  let ended = false
  let images = 0
  // A one-shot run whose image could not be written fails as cp's does, once its output is out.
  let imageLost = false
  // A one-shot run prints no last expression's value (one-shot-values.ts), and a javascript one
  // nothing on Ctrl-C, as `node -e` (no KeyboardInterrupt). A prompt keeps both, as Jupyter.
  const oneShot = !interactive
  const asNode = oneShot && isJs(context.language)
  let counted = false
  const echo = crashEcho(context.language)
  try {
    for await (const event of events) {
      // The last event's output taken by stdout's reader first (paced-output.ts).
      const wait = room()
      if (wait) await wait
      if (event.type === 'execution_count') counted = true
      if (event.type === 'error') {
        failed = true
        if (event.error?.ename === 'SystemExit') systemExit ??= event.error
        firstError ??= event.error
        status ??= cellExit(event, context.language)
      }
      if (event.type === 'execution_complete') ended = true
      echo.seen(event)
      // Its reader has gone: the cell is being interrupted, and what it still says is for nobody.
      if (pipe.broken) break
      // The wait for timers is the one-shot cell's tail: its output, not a second cell's frame.
      if (settling && FRAME_EVENTS.has(event.type)) continue
      // The interpreter's exit once its work was done, status 0, ends the wait: no error, as
      // `node -e` has none. `--json` printed it as one (`DeadKernelError`, `died (exit status 0)`)
      // after every one-shot javascript run that succeeded.
      if (settling && event.type === 'error' && event.error?.traceback.join('\n') === 'exit status 0') continue
      if (options.json) put(process.stdout, `${encodeEvent(event)}\n`)
      else if (echo.told(event)) continue
      // After a timeout, SIGTERM or SIGHUP the error is the interrupt's (KeyboardInterrupt): wrong
      // words, at a prompt too, which ends on them (python's own prompt dies without a traceback).
      else if (event.type === 'error' && (timedOut || otherStop())) continue
      else if (oneShot && isValue(context.language, event, counted)) continue
      else if (asNode && event.type === 'error' && stopSignal() === 'SIGINT') continue
      else
        images += render(event, id, images, {
          oneShot: !interactive,
          exitEnds: exitEnds(context.language),
          interrupted,
          language: context.language,
          typed: interactive ? source : undefined,
          imageLost: () => (imageLost = true),
        })
    }
  } finally {
    flush()
    timer?.clear()
    unsay()
    pipe.dispose()
    stop()
  }
  if (pipe.broken) return { status: pipe.exitCode() }
  const signal = stopSignal()
  if (signal && !interactive) {
    if (otherStop()) ownLine(`execd: ${describeExit({ code: null, signal, killedBy: null })}`)
    return { status: signalExit(signal) }
  }
  // A stream cut short (the daemon behind --url gone, a proxy's timeout) is no success.
  if (!ended && !failed && !interrupted) {
    ownLine(`execd: ${STREAM_CUT} (no execution_complete): the cell's output may be incomplete`)
    return { status: 1 }
  }
  if (timedOut) {
    ownLine(`execd: timed out after ${options.timeoutAsked ?? timeout} ms (the cell was interrupted)`)
    return { status: TIMEOUT_EXIT }
  }
  if (interrupted) return { status: 1 }
  // SystemExit is python's exit call here and at the prompt, as python's own (a context over
  // HTTP keeps catching it, as Jupyter does): its text is printed once what it was is known.
  const call = systemExit && (await pythonExit(client, context.id, systemExit))
  if (call) {
    if (call.says !== undefined && !options.json) process.stderr.write(`${call.says}\n`)
    return { status: call.status, exitCall: true }
  }
  if (failed) return { status: status ?? 1, exitCall: deathEnds(context.language, interrupted) && death(firstError) }
  const done = imageLost && !interactive ? 1 : 0
  if (interactive || settling || !isJs(context.language)) return { status: done }
  // A one-shot run ends as `node -e` does: once the program's work is done, within its timeout.
  const left =
    timeout > 0
      ? { timeout: Math.max(1, Math.floor(timeout - (performance.now() - started))), timeoutAsked: timeout }
      : {}
  const settled = await runCell(client, context, SETTLE_CELL, { ...options, ...left }, false, true)
  // Ended by the interpreter's own exit (its work done, or `process.exit()` in a timer): its status is the run's.
  if (settled.status !== 0 || settled.exitCall) return settled
  return { status: (await exitCodeOf(client, context.id)) || done }
}

/** What a prompt says of a Ctrl-C that gave up on a run's request before its answer began. */
export const UNANSWERED = 'interrupted before the daemon answered; it may still run the line'

/** What a prompt says of a cell still running a while (STOP_SAID_MS) after Ctrl-C asked it to stop. */
export const NOT_STOPPED = 'the cell has not stopped yet; Ctrl-C again leaves the prompt'

/** A stop by a signal not Ctrl-C's, whose interrupt the cell's error would call a Ctrl-C. */
const otherStop = (): boolean => (stopSignal() ?? 'SIGINT') !== 'SIGINT'

/** The driver's wait for the program's work to end (plugins/javascript/driver-settle.ts); none on an older daemon. */
const SETTLE_CELL = "await globalThis[Symbol.for('execd.settle')]?.()"
const FRAME_EVENTS = new Set<ExecEvent['type']>(['init', 'ping', 'execution_count', 'execution_complete'])

/**
 * An interpreter's death by its own exit call (`process.exit(4)`, `os._exit(4)`, bash's `exit 4`)
 * or by a signal (`kill -9 $$`, the OOM killer): the language's own prompt dies with it.
 */
const death = (e: ExecEvent['error']): boolean =>
  e?.ename === 'DeadKernelError' && /^(exit status \d+|signal: )/.test(e.traceback[0] ?? '')

/**
 * Whether a death ends the prompt: not when execd's interrupt killed it (past its grace: the
 * person asked for the prompt back). `kill -9 $$` went on in a fresh shell, said twice.
 */
const deathEnds = (language: string, interrupted: boolean): boolean => exitEnds(language) && !interrupted

/** Whether an exit call ends the language's own prompt: not jshell's (`System.exit` restarts its engine). */
const exitEnds = (language: string): boolean => language !== 'java'

async function listLanguages(client: CodeClient, json: boolean): Promise<number> {
  for (const l of await client.languages()) {
    if (json) process.stdout.write(`${JSON.stringify(l)}\n`)
    else
      process.stdout.write(
        visible(
          `${l.language.padEnd(12)} ${(l.available ? 'available' : 'missing').padEnd(10)} ${l.runtime.padEnd(10)} ${l.detail ?? ''}`,
        ) + '\n',
      )
  }
  return 0
}
