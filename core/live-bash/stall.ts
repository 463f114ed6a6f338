/**
 * A run whose line the shell read but will never end. The code can leave bash in a state where
 * the end of its line does nothing: `set -n` (nothing more is executed), an extdebug DEBUG trap
 * that skips every command, `readonly -f builtin`, a readonly `POSIXLY_CORRECT`, `enable -n
 * enable printf`. bash then goes back to reading its input for the next line, and no marker
 * ever comes: the run waited for its timeout, or for ever without one. A shell that sleeps in a
 * read of its own stdin while a run is out has finished that run's line: nothing else in the
 * run reads it (the code's stdin is /dev/null). So a run that has been quiet for a while looks
 * at the shell once a second, in a timer armed once per run (a normal run never reaches it), and
 * calls it stalled when two looks in a row find it so (watchStall).
 */
import { parseStat } from '../proc-stat'

/** read(2)'s number, as /proc/<pid>/syscall shows it (x64: 0; arm64's generic table: 63). */
const READ = process.arch === 'arm64' ? 63 : 0
const FIRST_LOOK_MS = 1000
const LOOK_EVERY_MS = 1000

export const STALLED =
  "the run's code left the shell unable to end a run (set -n, a DEBUG trap under extdebug, " +
  'a readonly function builtin, a readonly POSIXLY_CORRECT, enable -n enable)'

/**
 * Whether `pid` sleeps in a read of its fd 0 (false when it cannot be told). Read through Bun,
 * not node:fs: the bash runtime loads this module before execd listens (core/layout.test.ts).
 */
async function readingItsInput(pid: number): Promise<boolean> {
  try {
    // A task woken by input it has not yet read is runnable (R), not sleeping (S).
    if (parseStat(await Bun.file(`/proc/${pid}/stat`).text())?.state !== 'S') return false
    return (await Bun.file(`/proc/${pid}/syscall`).text()).startsWith(`${READ} 0x0 `)
  } catch {
    return false
  }
}

/**
 * Calls `stalled` once the shell is seen reading its input at two looks in a row while the run
 * waited for output all along; `stop()` when the run ends. `shell`: its pid, or what gives it at
 * each look (undefined: not known yet, asked again at the next). `waitingSince`: since when the
 * run has waited for output with nothing queued (undefined: not waiting). One look was not
 * enough: a shell that had ended its run and was reading the next line looks the same, and its
 * marker could still be in a pipe or a queue execd had not read — an interrupt (a timeout of
 * 1 s) landing as the first look came ended 3 runs in 10 as stalled and closed the shell, and a
 * client that paused reading for a second did the same to a run that had ended. The shell seen
 * reading at the first look wrote all it will before it; a second of waiting on its pipes since
 * then, with nothing arriving, has read it all.
 */
export function watchStall(
  shell: number | (() => number | undefined),
  waitingSince: () => number | undefined,
  stalled: () => void,
): { stop(): void } {
  let timer: ReturnType<typeof setTimeout> | undefined
  let stopped = false
  /** When the last look saw the shell reading with the run waiting since before it. */
  let seen: number | undefined
  const look = async () => {
    const at = performance.now()
    const pid = typeof shell === 'number' ? shell : shell()
    const reading = pid !== undefined && (await readingItsInput(pid))
    if (stopped) return
    const since = waitingSince()
    if (reading && since !== undefined && since <= (seen ?? at)) {
      if (seen !== undefined) return stalled()
      seen = at
    } else seen = undefined
    timer = setTimeout(look, LOOK_EVERY_MS)
  }
  timer = setTimeout(look, FIRST_LOOK_MS)
  return {
    stop: () => {
      stopped = true
      clearTimeout(timer)
    },
  }
}
