/**
 * Baseline (the physical floor for a code round trip): one warm `/usr/bin/python3` reading
 * code lines from a pipe, evaluating each and printing the repr — no HTTP, no protocol.
 */
import type { FileSink } from 'bun'
import { spawnTracked, stopProcess } from '../lib/procs'

const LOOP = `
import sys
ns = {}
for line in sys.stdin:
    try:
        value = eval(compile(line, '<bench>', 'eval'), ns)
    except SyntaxError:
        exec(line, ns)
        value = None
    sys.stdout.write(repr(value) + '\\n')
    sys.stdout.flush()
`

export interface WarmPython {
  /** Sends one line of code, resolves with the printed repr. */
  run(line: string): Promise<string>
  stop(): Promise<void>
}

export function startWarmPython(python = '/usr/bin/python3'): WarmPython {
  const proc = spawnTracked([python, '-u', '-c', LOOP], { stdin: 'pipe', stdout: 'pipe' })
  const stdin = proc.stdin as FileSink
  const reader = (proc.stdout as ReadableStream<Uint8Array>).getReader()
  const decoder = new TextDecoder()
  let buf = ''
  const readLine = async (): Promise<string> => {
    for (;;) {
      const nl = buf.indexOf('\n')
      if (nl >= 0) {
        const line = buf.slice(0, nl)
        buf = buf.slice(nl + 1)
        return line
      }
      const { value, done } = await reader.read()
      if (done) throw new Error('warm python exited')
      buf += decoder.decode(value, { stream: true })
    }
  }
  return {
    run: async line => {
      stdin.write(line + '\n')
      stdin.flush()
      return await readLine()
    },
    stop: async () => {
      stdin.end()
      await stopProcess(proc, 1000)
    },
  }
}
