/** A child process answering one line per line sent (rows 3 and 7's in-process timers). */
import type { Subprocess } from 'bun'
import { spawnTracked, stopProcess } from './procs'

export interface LineChild {
  pid: number
  ask(line: string): Promise<string>
  stop(): Promise<void>
}

export function startLineChild(argv: string[]): LineChild {
  const proc = spawnTracked(argv, { stdin: 'pipe', stdout: 'pipe' }) as Subprocess<'pipe', 'pipe', 'ignore'>
  const reader = proc.stdout.getReader()
  const decoder = new TextDecoder()
  let buf = ''
  return {
    pid: proc.pid,
    async ask(line) {
      proc.stdin.write(`${line}\n`)
      proc.stdin.flush()
      for (;;) {
        const nl = buf.indexOf('\n')
        if (nl >= 0) {
          const out = buf.slice(0, nl)
          buf = buf.slice(nl + 1)
          return out
        }
        const { value, done } = await reader.read()
        if (done) throw new Error(`${argv.join(' ')} exited`)
        buf += decoder.decode(value, { stream: true })
      }
    },
    async stop() {
      proc.stdin.end()
      await stopProcess(proc)
    },
  }
}
