/**
 * One run of a live bash as the `/command` stream gives it: init (the shell's id), ping,
 * stdout/stderr split into lines, then execution_complete or the CommandExecError `error` whose
 * value is the exit status (the SDK reads the exit code from it). `/session` and
 * `/v1/isolated/session/{id}/run` both stream this.
 */
import { errorEvent, makeEvent, type ExecEvent } from '../events'
import { LineSplitter } from '../lines'
import { describeExit } from '../process'
import { setLongTimeout } from '../timers'
import type { BashRunEnd, BashStream, LiveBash } from './index'

export interface BashRunOptions {
  /** Reported in `init`. */
  id: string
  cwd?: string
  /** Milliseconds; 2^31 and more are real timeouts too (setLongTimeout), not "now". */
  timeoutMs?: number
  /** The client went away: interrupt the run, keep the shell. */
  signal?: AbortSignal
  /** The second traceback line when the shell itself died, saying what to do next. */
  ended: string
}

export async function* bashRunEvents(bash: LiveBash, code: string, opts: BashRunOptions): AsyncGenerator<ExecEvent> {
  yield makeEvent('init', { text: opts.id })
  yield makeEvent('ping', { text: 'pong' })
  const started = Date.now()
  const abort = new AbortController()
  let timedOut = false
  const timer = opts.timeoutMs ? setLongTimeout(() => ((timedOut = true), abort.abort()), opts.timeoutMs) : undefined
  const onOuter = () => abort.abort()
  opts.signal?.addEventListener('abort', onOuter, { once: true })
  const splitters: Record<BashStream, LineSplitter> = { stdout: new LineSplitter(), stderr: new LineSplitter() }
  const it = bash.run(code, { cwd: opts.cwd, signal: abort.signal })
  let end: BashRunEnd | undefined
  try {
    for (;;) {
      const r = await it.next()
      if (r.done) {
        end = r.value
        break
      }
      for (const text of splitters[r.value.stream].push(r.value.data)) yield makeEvent(r.value.stream, { text })
    }
    for (const stream of ['stdout', 'stderr'] as const) {
      for (const text of splitters[stream].end()) yield makeEvent(stream, { text })
    }
    yield lastEvent(bash, end, started, timedOut ? opts.timeoutMs : undefined, opts.ended)
  } finally {
    timer?.clear()
    opts.signal?.removeEventListener('abort', onOuter)
    if (!end) await it.return(undefined as never)
  }
}

function lastEvent(bash: LiveBash, end: BashRunEnd, started: number, timeout: number | undefined, ended: string) {
  const why = timeout ? ` (timeout after ${timeout} ms)` : ''
  if (end.kind === 'died') {
    const info = bash.exit
    return errorEvent('CommandExecError', info?.code != null ? String(info.code) : '-1', [
      `${info ? describeExit(info) : end.reason}${why}`,
      ended,
    ])
  }
  if (end.interrupted) return errorEvent('CommandExecError', '-1', [`signal: interrupt${why}`])
  if (end.code === 0) return makeEvent('execution_complete', { execution_time: Date.now() - started })
  return errorEvent('CommandExecError', String(end.code), [`exit status ${end.code}`])
}
