/**
 * What `execd exec --shell` and `--isolated` print of a run and the exit code they end in: the
 * output lines at the reader's pace (paced-output.ts) or the event stream as JSON lines, the
 * command's status as a shell gives it (128+n for a signal n, 124 for --timeout), a stream cut
 * short said as such. The two verbs had a copy each, which had drifted: --shell stopped reading a
 * gone reader's backlog, --isolated read it all unseen.
 */
import { encodeEvent, type ExecEvent } from '../core/events'
import { describeExit, shellStatusOf } from '../core/exit-words'
import type { PipeWatch } from './broken-pipe'
import { signalExit, stopSignal, TIMEOUT_EXIT } from './lifecycle'
import { flush, put, room } from './paced-output'
import { shutDown, STREAM_CUT } from './remote'

/**
 * Prints `events` as they come (JSON lines with `json`, else rendered) and resolves to the verb's
 * exit code: the command's, the broken pipe's, 128 + the signal that stopped execd, or 1 for a
 * stream cut short. `seen` is told of each event printed. Once stdout's reader has gone the run
 * is being stopped, and its backlog (a `yes` writes faster than any reader) is for nobody: the
 * reading stops there.
 */
export async function printRun(
  events: AsyncIterable<ExecEvent>,
  json: boolean,
  pipe: PipeWatch,
  opts: { seen?: (e: ExecEvent) => void } = {},
): Promise<number> {
  let code = 1
  let ended = false
  try {
    for await (const e of events) {
      if (pipe.broken) break
      if (json) put(process.stdout, `${encodeEvent(e)}\n`)
      else render(e)
      opts.seen?.(e)
      if (e.type === 'execution_complete') code = 0
      if (e.type === 'error') code = commandExit(e)
      if (e.type === 'execution_complete' || e.type === 'error') ended = true
      const wait = room()
      if (wait) await wait
    }
  } finally {
    flush()
  }
  if (pipe.broken) return pipe.exitCode()
  const signal = stopSignal()
  if (signal) return signalExit(signal)
  sayIfCut(ended)
  return code
}

function render(e: ExecEvent): void {
  const line = e.text === '\n' ? '\n' : `${e.text}\n`
  if (e.type === 'stdout') put(process.stdout, line)
  else if (e.type === 'stderr') put(process.stderr, line)
  else if (e.type === 'error' && e.error) {
    const text = shutDown(e.error.ename, 'while the command ran') ?? (e.error.traceback.join('\n') || e.error.evalue)
    // A plain exit status is said by execd's own (as a shell says nothing); a signal or a
    // timeout is worth a line.
    if (!/^exit status \d+$/.test(text)) put(process.stderr, `execd: ${stoppedBy(text)}\n`)
  }
}

/**
 * A run that died of the stop execd sent it because execd itself was stopped: the signal execd
 * got is what happened, and what its status (128 + it) says. The stop's own signal is the
 * section's: SIGTERM for a command, SIGINT for an isolated session's shell, so SIGTERM read
 * `signal: interrupt` with --isolated and Ctrl-C `signal: terminated` with --shell. A run that
 * outlived the stop (`signal: killed` after the grace) says so.
 */
function stoppedBy(text: string): string {
  const signal = stopSignal()
  if (!signal || !/^signal: (interrupt|terminated)$/.test(text)) return text
  return describeExit({ code: null, signal, killedBy: null })
}

/**
 * A run's stream cut short (the daemon behind --url gone, a proxy's timeout) ends without its
 * terminal event: the exit code is unknown, which is not a 0 (the verb exits 1).
 */
function sayIfCut(ended: boolean): void {
  if (!ended) process.stderr.write(`execd: ${STREAM_CUT} (no execution_complete or error): the exit code is unknown\n`)
}

/** The shell's convention: the exit code, or 128 + the signal's number; a run timed out 124. */
function commandExit(e: ExecEvent): number {
  if (/\(timeout after \d+ ms\)$/.test(e.error?.traceback[0] ?? '')) return TIMEOUT_EXIT
  const n = Number(e.error?.evalue)
  if (Number.isInteger(n) && n >= 0) return Math.min(n, 255)
  return shellStatusOf(e.error?.traceback[0] ?? '') ?? 1
}
