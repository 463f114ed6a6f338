/**
 * The hidden first half of the main process of `serve -- <command>`: execd run again, which asks
 * the kernel to SIGKILL it when execd dies, then becomes the command (execve: same pid, still
 * execd's child, the command's name in `ps`). Without it, a SIGKILLed execd (the OOM killer,
 * `docker kill -s KILL` of a non-PID-1 execd, a supervisor) left the main process running,
 * re-parented to init: the kill in process.on('exit') never runs on SIGKILL. Bun.spawn runs no
 * code of ours between fork and exec, hence this step; `setpriv --pdeathsig` is not in every
 * container.
 */

/** The word that starts this mode: no verb of the command line, and never in its help. */
export const MAIN_EXEC_WORD = '__exec-main'

/** As cmd/main-startable.ts: where Bun.spawn (and a shell) look when PATH is unset or empty. */
const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'

const PR_SET_PDEATHSIG = 1
const SIGKILL = 9

/** `words`: [MAIN_EXEC_WORD, execd's pid, '--', command, args…]. Never returns. */
export function execMain(words: string[]): never {
  const parent = Number(words[1])
  const argv = words.slice(3)
  armDeathSignal(parent)
  const command = argv[0] ?? ''
  const env: Record<string, string> = {}
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined) env[k] = v
  const file = command.includes('/')
    ? command
    : (Bun.which(command, { PATH: env.PATH || DEFAULT_PATH }) ?? Bun.which(command, { PATH: DEFAULT_PATH }))
  const what = `cannot start the main process: ${command || "''"}`
  if (file === null || command === '') return refuse(`${what}: command not found`, 127)
  try {
    process.execve!(file, argv, env)
  } catch (err) {
    // A shell's conventions, as startMain had them when Bun.spawn itself failed.
    const code = (err as NodeJS.ErrnoException)?.code
    const reason = (err as Error)?.message?.replace(/^E[A-Z]+: /, '') ?? String(err)
    return refuse(`${what}: ${reason}`, code === 'ENOENT' ? 127 : 126)
  }
  return refuse(`${what}: process.execve is missing`, 126)
}

/**
 * PR_SET_PDEATHSIG, then a look at who the parent is now: execd may have died before the prctl,
 * and the kernel says nothing of a death that came first. The signal is sent when the *thread*
 * that forked this process ends: startMain spawns from execd's main thread, which lives as long
 * as execd. Without libc's prctl (no FFI here) the command still runs, as before.
 */
function armDeathSignal(parent: number): void {
  let libc: { symbols: { prctl: (...a: number[]) => number; getppid: () => number } } | undefined
  for (const name of ['libc.so.6', 'libc.so']) {
    try {
      const { dlopen, FFIType } = require('bun:ffi') as typeof import('bun:ffi')
      const { u64, i32 } = FFIType
      libc = dlopen(name, {
        prctl: { args: [i32, u64, u64, u64, u64], returns: i32 },
        getppid: { args: [], returns: i32 },
      }) as unknown as typeof libc
      break
    } catch {} // the next name, or none
  }
  if (!libc) return
  if (libc.symbols.prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) !== 0) return
  if (libc.symbols.getppid() !== parent) process.kill(process.pid, 'SIGKILL')
}

function refuse(line: string, status: number): never {
  // Written before the exit: a write to a pipe may still be queued when process.exit runs.
  const { writeSync } = require('node:fs') as typeof import('node:fs')
  try {
    writeSync(2, `execd: ${line}\n`)
  } catch {} // no stderr: the status says it
  process.exit(status)
}
