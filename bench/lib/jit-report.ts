/** JSC's report of each compile (`BUN_JSC_reportCompileTimes=1`), read from a daemon's stderr. */

/** One line of JSC's report: `Optimized <name>#<hash>:[…] using <tier> … in <ms> ms`. */
const REPORT = /^Optimized (.*?)#(\w+):\[.*?\] using (\w+) with .*? in ([\d.]+) ms/

export interface Compile {
  fn: string
  tier: string
  ms: number
}

/** A stderr reader for startExecd's onStderr that hands each reported compile to `onCompile`. */
export function compileReports(onCompile: (c: Compile) => void): (text: string) => void {
  let pending = ''
  return text => {
    pending += text
    const lines = pending.split('\n')
    pending = lines.pop() ?? ''
    for (const line of lines) {
      const m = REPORT.exec(line)
      if (m) onCompile({ fn: `${m[1]}#${m[2]}`, tier: m[3]!, ms: Number(m[4]) })
    }
  }
}
