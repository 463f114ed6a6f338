/**
 * One run's SSE events, the same as `/session` and `/command` give: init (the session id),
 * ping, stdout/stderr split into lines, then execution_complete or the CommandExecError
 * `error` carrying the exit status (the SDK reads the exit code from its value).
 */
import { errorEvent, makeEvent, type ExecEvent } from '../../../core/events'
import { LineSplitter } from '../../../core/lines'
import type { BashRunEnd, BashStream } from '../../../core/live-bash'
import { describeExit } from '../../../core/process'
import { setLongTimeout } from '../../../core/timers'
import type { Session } from './sessions'

export async function* runEvents(
  s: Session,
  code: string,
  timeoutMs: number | undefined,
  outer?: AbortSignal,
): AsyncGenerator<ExecEvent> {
  yield makeEvent('init', { text: s.id })
  yield makeEvent('ping', { text: 'pong' })
  const started = Date.now()
  const abort = new AbortController()
  let timedOut = false
  const timer = timeoutMs ? setLongTimeout(() => ((timedOut = true), abort.abort()), timeoutMs) : undefined
  const onOuter = () => abort.abort()
  outer?.addEventListener('abort', onOuter, { once: true })
  const splitters: Record<BashStream, LineSplitter> = { stdout: new LineSplitter(), stderr: new LineSplitter() }
  const it = s.bash.run(code, { signal: abort.signal })
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
    const why = timedOut ? ` (timeout after ${timeoutMs} ms)` : ''
    if (end.kind === 'died') {
      const info = s.bash.exit
      yield errorEvent('CommandExecError', info?.code != null ? String(info.code) : '-1', [
        `${info ? describeExit(info) : end.reason}${why}`,
        'the isolated session has ended: its shell exited; create a new session',
      ])
    } else if (end.interrupted) yield errorEvent('CommandExecError', '-1', [`signal: interrupt${why}`])
    else if (end.code === 0) yield makeEvent('execution_complete', { execution_time: Date.now() - started })
    else yield errorEvent('CommandExecError', String(end.code), [`exit status ${end.code}`])
  } finally {
    timer?.clear()
    outer?.removeEventListener('abort', onOuter)
    if (!end) await it.return(undefined as never)
  }
}
