/**
 * `execd exec --shell 'cmd' [--cwd --env K=V --timeout ms --json]`: the commands section's run
 * operation, here without HTTP or on a daemon (--url, `POST /command`). Output lines go to the
 * terminal's stdout/stderr as they come (or the event stream as JSON lines); the exit code is
 * the command's (128+n for a signal n, 124 when --timeout stopped it). SIGTERM, SIGINT and SIGHUP stop the command's group
 * (SIGTERM, then SIGKILL after the grace) and end the verb with 128 + the signal.
 */
import type { ExecEvent } from '../core/events'
import type { SseItem } from '../core/sse'
import { watchBrokenPipe } from './broken-pipe'
import { onStop, stopSignal } from './lifecycle'
import { plainEvents } from './plain-events'
import { configFrom, parseEnvPairs } from './options'
import { remoteOf, type Remote } from './remote'
import { UsageError } from './errors'
import { leaving, saidUnlessAnswered } from './daemon-quiet'
import { printRun } from './run-output'

interface Runner {
  /** The daemon's address, for a remote runner. */
  base?: string
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
  let unsay = () => {}
  const interrupt = () => {
    if (!id || stopping) return
    const asked = (stopping = runner.interrupt(id).catch(() => {}))
    // A daemon stopped mid-command: the verb leaves at the stop's deadline, which is said.
    if (!runner.base || !stopSignal()) return
    unsay = saidUnlessAnswered(asked, leaving(runner.base, 'command'))
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
    // Its reader gone, the command is being stopped, and its backlog (a `yes` writes faster than
    // any reader) is for nobody: the printing stops.
    return await printRun(stream, !!options.json, pipe, {
      seen: e => {
        if (e.type !== 'init') return
        id = e.text
        if (stopSignal()) interrupt() // a signal that came before the command had an id
      },
    })
  } finally {
    pipe.dispose()
    await stopping
    unsay()
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
    base: remote.base,
    run: async req =>
      remote.events(await remote.call('POST', '/command', { json: req }), 'POST /command', 'while the command ran'),
    interrupt: id => remote.interrupt('/command', id),
    close: async () => {},
  }
}
