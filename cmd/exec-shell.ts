/**
 * `execd exec --shell 'cmd' [--cwd --env K=V --timeout ms --json]`: the commands section's run
 * operation, here without HTTP or on a daemon (--url, `POST /command`). Output lines go to the
 * terminal's stdout/stderr as they come (or the event stream as JSON lines); the exit code is
 * the command's (128+n for a signal n, 124 when --timeout stopped it). SIGTERM, SIGINT and SIGHUP stop the command's group
 * (SIGTERM, then SIGKILL after the grace) and end the verb with 128 + the signal.
 */
import { encodeEvent, type ExecEvent } from '../core/events'
import { describeExit, shellStatusOf } from '../core/exit-words'
import type { SseItem } from '../core/sse'
import { watchBrokenPipe } from './broken-pipe'
import { onStop, signalExit, stopSignal, TIMEOUT_EXIT } from './lifecycle'
import { plainEvents } from './plain-events'
import { configFrom, parseEnvPairs } from './options'
import { remoteOf, shutDown, STREAM_CUT, type Remote } from './remote'
import { UsageError } from './errors'

interface Runner {
  run(req: {
    command: string
    cwd?: string
    timeout?: number
    envs?: Record<string, string>
  }): Promise<AsyncIterable<ExecEvent>>
  interrupt(id: string): Promise<void>
  close(): Promise<void>
}

export async function execShell(options: Record<string, unknown>): Promise<number> {
  const command = String(options.shell ?? '')
  // The section's own refusal, said before anything is asked: the command line alone tells it.
  if (command === '') throw new UsageError('command is required', 'INVALID_REQUEST_BODY')
  const envs = parseEnvPairs(options.env)
  const remote = remoteOf(options)
  const runner = remote ? remoteRunner(remote) : await localRunner(options)
  let id: string | undefined
  // Awaited before the verb ends: the command's group is gone and reaped, not left a zombie
  // for an init that may never reap it.
  let stopping: Promise<void> | undefined
  const interrupt = () => {
    if (id) stopping ??= runner.interrupt(id).catch(() => {})
  }
  const stop = onStop(interrupt)
  const pipe = watchBrokenPipe(interrupt)
  try {
    const stream = await runner.run({
      command,
      cwd: options.cwd === undefined ? undefined : String(options.cwd),
      timeout: options.timeout === undefined ? undefined : Number(options.timeout),
      envs,
    })
    let code = 1
    let ended = false
    for await (const e of stream) {
      // Its reader has gone: the command is being stopped, and its backlog (a `yes` writes
      // faster than any reader) is for nobody.
      if (pipe.broken) break
      if (options.json) process.stdout.write(`${encodeEvent(e)}\n`)
      else render(e)
      if (e.type === 'init') {
        id = e.text
        if (stopSignal()) interrupt() // a signal that came before the command had an id
      }
      if (e.type === 'execution_complete') code = 0
      if (e.type === 'error') code = commandExit(e)
      if (e.type === 'execution_complete' || e.type === 'error') ended = true
    }
    if (pipe.broken) return pipe.exitCode()
    const signal = stopSignal()
    if (signal) return signalExit(signal)
    sayIfCut(ended)
    return code
  } finally {
    pipe.dispose()
    await stopping
    stop()
    await runner.close()
  }
}

async function localRunner(options: Record<string, unknown>): Promise<Runner> {
  const [{ openSection }, { command }] = await Promise.all([import('../core/app'), import('../plugins/command')])
  // The command section's options given to exec (--command-interrupt-grace, ...) apply.
  const section = await openSection(command, configFrom(options))
  return {
    async run(req) {
      return plainEvents((await section.ops.run(req)) as AsyncIterable<SseItem | ExecEvent>)
    },
    interrupt: async id => void (await section.ops.interrupt(id)),
    close: async () => void (await section.close()),
  }
}

function remoteRunner(remote: Remote): Runner {
  return {
    run: async req =>
      remote.events(await remote.call('POST', '/command', { json: req }), 'POST /command', 'while the command ran'),
    interrupt: id => remote.interrupt('/command', id),
    close: async () => {},
  }
}

export function render(e: ExecEvent): void {
  const line = e.text === '\n' ? '\n' : `${e.text}\n`
  if (e.type === 'stdout') process.stdout.write(line)
  else if (e.type === 'stderr') process.stderr.write(line)
  else if (e.type === 'error' && e.error) {
    const text = shutDown(e.error.ename, 'while the command ran') ?? (e.error.traceback.join('\n') || e.error.evalue)
    // A plain exit status is said by execd's own (as a shell says nothing); a signal or a
    // timeout is worth a line.
    if (!/^exit status \d+$/.test(text)) process.stderr.write(`execd: ${stoppedBy(text)}\n`)
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
export function sayIfCut(ended: boolean): void {
  if (!ended) process.stderr.write(`execd: ${STREAM_CUT} (no execution_complete or error): the exit code is unknown\n`)
}

/** The shell's convention: the exit code, or 128 + the signal's number; a run timed out 124. */
export function commandExit(e: ExecEvent): number {
  if (/\(timeout after \d+ ms\)$/.test(e.error?.traceback[0] ?? '')) return TIMEOUT_EXIT
  const n = Number(e.error?.evalue)
  if (Number.isInteger(n) && n >= 0) return Math.min(n, 255)
  return shellStatusOf(e.error?.traceback[0] ?? '') ?? 1
}
