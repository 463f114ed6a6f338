/**
 * `execd serve [options] -- <command> [args…]`: the container's own entrypoint. The daemon and
 * the container's main process run side by side, as the reference's bootstrap script starts
 * them (execd in the background, then the command): the main process keeps the container's
 * stdin/stdout/stderr, gets the signals the container gets, and its exit ends the container —
 * execd shuts itself down gracefully and exits with the main process's status.
 */
import { readdirSync, readFileSync } from 'node:fs'
import { constants } from 'node:os'
import type { Subprocess } from 'bun'
import { childEnv } from '../core/child-env'
import { SELF_EXECUTABLE } from '../core/self-exec'
import type { Logger } from '../core/log'
import { Lineage } from '../core/lineage'
import { scanProcs } from '../core/proc-scan'
import { bunWaitsFor } from '../core/reaper'
import { scrubSecrets } from '../core/secrets'
import { statFields } from '../core/proc-stat'
import { MAIN_EXEC_WORD } from './main-exec'
import { forwardOnSignals } from './serve-signals'

export interface MainProcess {
  pid: number
  /** The status execd exits with: the main process's code, or 128 + n when a signal ended it. */
  status: Promise<number>
  /** Until its exit is known (its pid may be another process's after). */
  running(): boolean
}

/**
 * Starts the main process. It stays in execd's process group and session, so that a terminal
 * (`docker run -it … execd serve -- bash`) is still its controlling terminal. It gets the
 * environment every child gets (core/child-env.ts): never execd's token. `announce`: the
 * listening line, said before a failure to start (its line came first when the spawn failed
 * before the first poll, though execd had listened).
 */
export function startMain(argv: string[], log: Logger, announce: () => void): MainProcess {
  let proc: Subprocess<'inherit', 'inherit', 'inherit'>
  // Spawned in the turn execd starts listening: the secrets leave our /proc now, not later.
  scrubSecrets()
  try {
    // By way of execd run again (cmd/main-exec.ts), which has the kernel kill it if execd dies,
    // SIGKILLed included, then becomes the command. From this, the main thread (PDEATHSIG follows
    // the thread that forked).
    const words = [MAIN_EXEC_WORD, String(process.pid), '--', ...argv]
    proc = Bun.spawn([SELF_EXECUTABLE, ...words], { stdio: ['inherit', 'inherit', 'inherit'], env: childEnv() })
    bunWaitsFor(proc)
  } catch (err) {
    // execd's own executable could not be run again (the command's own failures are the step's,
    // said in its one line): a shell's conventions still, 127 for not there, 126 for not runnable.
    const code = (err as NodeJS.ErrnoException)?.code
    announce()
    log.error('cannot start the main process', { command: argv[0], error: (err as Error)?.message ?? String(err) })
    return { pid: 0, status: Promise.resolve(code === 'ENOENT' ? 127 : 126), running: () => false }
  }
  log.info('main process started', { pid: proc.pid, command: argv[0] })
  const running = () => proc.exitCode === null && proc.signalCode === null
  // However execd ends (its shutdown's hard stop included), it never leaves the main process
  // running: that one follows execd and had nobody left to follow. A SIGKILL runs no 'exit': the
  // kernel's PR_SET_PDEATHSIG (cmd/main-exec.ts) ends it then.
  process.on('exit', () => {
    if (running()) proc.kill('SIGKILL')
  })
  const status = proc.exited.then(code => {
    const signal = proc.signalCode
    const n = signal ? (constants.signals as Record<string, number>)[signal] : undefined
    const status = n ? 128 + n : code
    log.info('main process exited', signal ? { pid: proc.pid, signal, status } : { pid: proc.pid, status })
    return status
  })
  return { pid: proc.pid, status, running }
}

/**
 * Passes what a container runtime or a terminal sends on to the main process (not its group:
 * as tini does by default), as cmd/serve-signals.ts's table says. A SIGTERM passed on starts
 * the main process's grace: past it, it and its descendants get SIGKILL. Only SIGTERM: an
 * interactive shell as main process ignores the SIGINT and SIGQUIT of its terminal's keys.
 *
 * `graceMs` (--main-stop-grace) is how long the main process has to exit after a SIGTERM passed
 * on to it. tini and dumb-init pass the signal on and wait for as long as it takes; outside a
 * container nobody sends the SIGKILL, and a main process that ignored SIGTERM (`sh -c 'trap ""
 * TERM; sleep 1000'`) kept execd and itself running after the stop. Its default, 30 s, is
 * Kubernetes' own grace (docker stop's is 10 s): a runtime's SIGKILL comes first, so a graceful
 * stop it allows by default is never cut short by execd. 0: no grace of execd's.
 */
export function forwardSignals(main: MainProcess, log: Logger, graceMs: number): void {
  let stopping = false
  forwardOnSignals((signal, as) => {
    // Ctrl-C at a terminal reaches the main process too (execd's group): it had exited and been
    // reaped when execd's handler ran, which logged a forward to it after its exit and sent the
    // signal to a pid another process may hold by then.
    // A resize is passed on without a word: dragging a terminal's edge sends dozens, each of which
    // was a line on that terminal.
    const said = signal !== 'SIGWINCH'
    if (!main.running())
      return void (said && log.info('signal after the main process exited: not forwarded', { signal }))
    if (said) log.info('forwarding signal to the main process', { signal, ...(as !== signal && { as }), pid: main.pid })
    try {
      process.kill(main.pid, as)
    } catch {} // already gone: its exit is on its way
    if (as !== 'SIGTERM' || stopping || graceMs === 0) return
    stopping = true
    const timer = setTimeout(() => void killMain(main, log, graceMs, signal), graceMs)
    void main.status.then(() => clearTimeout(timer))
  }, log)
}

/** SIGKILL to the main process and every descendant of it (its children may not be in its group). */
async function killMain(main: MainProcess, log: Logger, graceMs: number, signal: string): Promise<void> {
  if (!main.running()) return
  const pids = new Lineage().extend(new Set([main.pid]), await scanProcs())
  log.warn(`the main process did not exit within ${graceMs} ms of ${signal}: killing it and its descendants`, {
    pid: main.pid,
    processes: pids.length,
  })
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL')
    } catch {} // gone meanwhile
  }
}

/**
 * Ends the main process when execd ends first (an error of its own): SIGTERM, as a container
 * stop would send it, then SIGKILL after `graceMs`. Nothing when it has exited already.
 */
export async function endMain(main: MainProcess, graceMs: number): Promise<void> {
  const exited = main.status.then(() => true)
  const signal = (sig: NodeJS.Signals) => {
    try {
      if (main.running()) process.kill(main.pid, sig)
    } catch {} // already gone
  }
  if (!main.running()) return
  signal('SIGTERM')
  const waited = await Promise.race([exited, new Promise<false>(r => setTimeout(r, graceMs, false))])
  if (!waited) signal('SIGKILL')
  await exited
}

/**
 * As PID 1 (a container's init) once the main process has exited: what it left behind (its
 * background jobs, daemons it started) gets SIGTERM and `graceMs` to exit, rather than the
 * SIGKILL the kernel sends every process of the namespace when its init exits. kill(-1) from
 * PID 1 reaches every process of the namespace but execd itself; the orphan reaper collects them.
 */
export async function endLeftovers(graceMs: number): Promise<void> {
  const signal = (sig: NodeJS.Signals | 0): boolean => {
    try {
      process.kill(-1, sig)
      return true
    } catch {
      return false // ESRCH: nobody is left
    }
  }
  if (!signal('SIGTERM')) return
  const deadline = performance.now() + graceMs
  while (performance.now() < deadline && leftovers() > 0) await new Promise(r => setTimeout(r, 50))
}

/**
 * Not as PID 1 (`execd serve -- ./start.sh` at a terminal, under a supervisor) once the main
 * process has exited: what it left behind (`sh -c 'server & wait'` stopped by SIGTERM) gets
 * SIGTERM and `graceMs` to exit, then SIGKILL, as endLeftovers gives PID 1's. It ran on after
 * execd, re-parented to init. execd is its subreaper from before the main process started
 * (serve.ts), so those jobs are execd's children in execd's own process group (the main
 * process's, for its terminal), which core/ownership's killMarked spares: nothing else there
 * is a child of execd's.
 */
export async function endAdopted(graceMs: number): Promise<void> {
  const adopted = async (): Promise<number[]> => {
    const procs = await scanProcs()
    const group = procs.find(p => p.pid === process.pid)?.pgid
    const jobs = procs.filter(p => p.ppid === process.pid && p.pgid === group && p.state !== 'Z').map(p => p.pid)
    return new Lineage().extend(new Set(jobs), procs)
  }
  const signal = (pids: number[], sig: NodeJS.Signals) => {
    for (const pid of pids) {
      try {
        process.kill(pid, sig)
      } catch {} // gone meanwhile
    }
  }
  let left = await adopted()
  if (left.length === 0) return
  signal(left, 'SIGTERM')
  const deadline = performance.now() + graceMs
  while (left.length > 0 && performance.now() < deadline) {
    await new Promise(r => setTimeout(r, 50))
    left = await adopted()
  }
  signal(left, 'SIGKILL')
}

/** Live processes of this PID namespace but execd (zombies wait for the reaper; they do not count). */
function leftovers(): number {
  let n = 0
  for (const entry of readdirSync('/proc')) {
    if (entry.charCodeAt(0) > 57 || entry === String(process.pid)) continue
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'latin1')
      if (statFields(stat)[0] !== 'Z') n++
    } catch {}
  }
  return n
}
