/**
 * `execd exec --shell 'cmd' [--cwd --env K=V --timeout ms --json]`: the commands plugin's run
 * operation without HTTP. Output lines go to the terminal's stdout/stderr as they come (or the
 * event stream as JSON lines); the exit code is the command's (128+n for a signal n).
 */
import { constants } from 'node:os'
import { openSection } from '../core/app'
import { encodeEvent, type ExecEvent } from '../core/events'
import { createLogger } from '../core/log'
import { signalNamed } from '../core/process'
import type { SseItem } from '../core/sse'
import { command } from '../plugins/command'
import { BROKEN_PIPE_EXIT, watchBrokenPipe } from './broken-pipe'
import { configFrom, parseEnvPairs } from './options'

export async function execShell(options: Record<string, unknown>): Promise<number> {
  const section = await openSection(command, configFrom({}), createLogger('error'))
  const ops = section.ops
  let id: string | undefined
  const onSignal = () => void (id && ops.interrupt(id))
  process.on('SIGINT', onSignal)
  process.on('SIGTERM', onSignal)
  const pipe = watchBrokenPipe(onSignal)
  try {
    const stream = await ops.run({
      command: String(options.shell ?? ''),
      cwd: options.cwd === undefined ? undefined : String(options.cwd),
      timeout: options.timeout === undefined ? undefined : Number(options.timeout),
      envs: parseEnvPairs(options.env),
    })
    let code = 1
    for await (const item of stream as AsyncIterable<SseItem | ExecEvent>) {
      const e = 'event' in item && typeof item.event === 'object' ? (item as SseItem).event : (item as ExecEvent)
      if (pipe.broken) {
        // Its reader has gone: the command is being interrupted; drain the rest unseen.
      } else if (options.json) process.stdout.write(`${encodeEvent(e)}\n`)
      else render(e)
      if (e.type === 'init') id = e.text
      if (e.type === 'execution_complete') code = 0
      if (e.type === 'error') code = exitCodeOf(e)
    }
    return pipe.broken ? BROKEN_PIPE_EXIT : code
  } finally {
    pipe.dispose()
    process.off('SIGINT', onSignal)
    process.off('SIGTERM', onSignal)
    await section.close()
  }
}

export function render(e: ExecEvent): void {
  const line = e.text === '\n' ? '\n' : `${e.text}\n`
  if (e.type === 'stdout') process.stdout.write(line)
  else if (e.type === 'stderr') process.stderr.write(line)
  else if (e.type === 'error' && e.error)
    process.stderr.write(`execd: ${e.error.traceback.join('\n') || e.error.evalue}\n`)
}

/** The shell's convention: the exit code, or 128 + the signal's number. */
export function exitCodeOf(e: ExecEvent): number {
  const n = Number(e.error?.evalue)
  if (Number.isInteger(n) && n >= 0) return Math.min(n, 255)
  const word = /^signal: ([a-z ]+?)(?: \(|$)/.exec(e.error?.traceback[0] ?? '')?.[1] ?? ''
  const sig = word ? constants.signals[signalNamed(word) as keyof typeof constants.signals] : undefined
  return sig ? 128 + sig : 1
}
