/**
 * A debug-only probe of the event loop's own delay, for finding what holds execd's main thread
 * (bench/README.md, "The event loop's own delay", says how it is used).
 * `EXECD_LOOP_LAG_LOG=<file>` turns it on; unset, it costs nothing (the module is not loaded).
 *
 * A timer asks for a turn every 10 ms; a turn that comes more than 50 ms late is a stall, and
 * one JSON line is appended for it. A late timer alone cannot tell a thread that ran JavaScript
 * for the whole gap from one the kernel left waiting for a core while other processes ran (two
 * cores, shared), so the line splits the gap by the main thread's own scheduler clock
 * (/proc/self/task/<pid>/schedstat: time on a CPU, time runnable but waiting for one); what is
 * left is time asleep in a system call (a synchronous read of a slow file, a sync spawn's wait)
 * or in epoll when the loop was free. The requests begun last name the suspects; their query is
 * cut (it never holds the token: that is a header).
 */
import { appendFileSync } from 'node:fs'
import { schedClock } from './sched-clock'

const PERIOD_MS = 10
const STALL_MS = 50
const RECENT = 12

const clock = () => schedClock() ?? { run: 0, wait: 0 }

export interface LoopLagProbe {
  /** Notes a request as it comes in (method and path, the query cut short). */
  request(req: Request): void
  stop(): void
}

export function startLoopLagProbe(path: string): LoopLagProbe {
  const recent: string[] = []
  let last = performance.now()
  let before = clock()
  const tick = () => {
    const now = performance.now()
    const after = clock()
    const gap = now - last
    if (gap - PERIOD_MS > STALL_MS) {
      const run = after.run - before.run
      const wait = after.wait - before.wait
      const line = {
        at: Date.now() - Math.round(gap),
        lagMs: Math.round(gap - PERIOD_MS),
        runMs: Math.round(run),
        waitMs: Math.round(wait),
        asleepMs: Math.max(0, Math.round(gap - run - wait)),
        recent: recent.slice(),
      }
      try {
        appendFileSync(path, `${JSON.stringify(line)}\n`)
      } catch {}
    }
    last = performance.now()
    before = after
  }
  const timer = setInterval(tick, PERIOD_MS)
  timer.unref()
  return {
    request(req) {
      const url = req.url
      const at = url.indexOf('/', url.indexOf('//') + 2)
      recent.push(`${new Date().toISOString().slice(11, 23)} ${req.method} ${url.slice(at, at + 160)}`)
      if (recent.length > RECENT) recent.shift()
    },
    stop: () => clearInterval(timer),
  }
}
