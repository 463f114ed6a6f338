/**
 * `execd serve` run to its end, or sent a signal the moment it logs that it listens (or another
 * line it is waited for): a start that should fail and listens instead ends too, and a stop can
 * land at the first instant it can.
 */
import { BIN } from '../harness'

export interface ServeRun {
  /** What `exited` resolved to (the status, or 128 + the signal's number). */
  exited: number
  code: number | null
  signal: NodeJS.Signals | number | null
  stderr: string
  /** Whether it said `says` (by default, that it listens) before it ended. */
  listened: boolean
}

export interface StopAt {
  /** What on stderr makes it stopped: by default its listening line. */
  says?: string
  /** SIGTERM stops it as a person would; SIGKILL where only the start is looked at. */
  signal?: NodeJS.Signals
}

export async function serveStoppedAtListening(
  args: string[],
  env: Record<string, string>,
  { says = '"execd listening"', signal = 'SIGTERM' }: StopAt = {},
): Promise<ServeRun> {
  const p = Bun.spawn([BIN, 'serve', ...args], {
    stdin: 'ignore',
    stdout: 'ignore',
    stderr: 'pipe',
    env: { ...process.env, ...env },
  })
  let stderr = ''
  let listened = false
  const decoder = new TextDecoder()
  const reader = p.stderr.getReader()
  for (;;) {
    const { value, done } = await reader.read()
    if (done) break
    stderr += decoder.decode(value, { stream: true })
    if (!listened && stderr.includes(says)) {
      listened = true
      p.kill(signal)
    }
  }
  const exited = await p.exited
  return { exited, code: p.exitCode, signal: p.signalCode, stderr, listened }
}
