/**
 * `execd serve` run to its end, or sent SIGTERM the moment it logs that it listens: a start that
 * should fail and listens instead ends too, and a stop can land at the first instant it can.
 */
import { BIN } from '../harness'

export interface ServeRun {
  /** What `exited` resolved to (the status, or 128 + the signal's number). */
  exited: number
  code: number | null
  signal: NodeJS.Signals | number | null
  stderr: string
  listened: boolean
}

export async function serveStoppedAtListening(args: string[], env: Record<string, string>): Promise<ServeRun> {
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
    if (!listened && stderr.includes('"execd listening"')) {
      listened = true
      p.kill('SIGTERM')
    }
  }
  const exited = await p.exited
  return { exited, code: p.exitCode, signal: p.signalCode, stderr, listened }
}
