/**
 * The hidden first half of the main process of `serve -- <command>`: execd run again, which asks
 * the kernel to SIGKILL it when execd dies, then becomes the command (execve: same pid, still
 * execd's child, the command's name in `ps`). Without it, a SIGKILLed execd (the OOM killer,
 * `docker kill -s KILL` of a non-PID-1 execd, a supervisor) left the main process running,
 * re-parented to init: the kill in process.on('exit') never runs on SIGKILL. Bun.spawn runs no
 * code of ours between fork and exec, hence this step; `setpriv --pdeathsig` is not in every
 * container.
 */
import { libcCalls } from '../core/libc'
import { signalMask, signalsIn } from '../core/signal-masks'

/** The word that starts this mode: no verb of the command line, and never in its help. */
export const MAIN_EXEC_WORD = '__exec-main'

/**
 * Where Bun.spawn looks when PATH is unset or empty (it found `sh` so), and so does a shell:
 * Bun.which alone found nothing there. cmd/main-startable.ts looks there before listening, and
 * this step when it execs.
 */
export const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'

const PR_SET_PDEATHSIG = 1
const SIGKILL = 9
const SIG_DFL = 0
const SIG_IGN = 1

/** `words`: [MAIN_EXEC_WORD, execd's pid, '--', command, args…]. Never returns. */
export function execMain(words: string[]): never {
  const parent = Number(words[1])
  const argv = words.slice(3)
  const libc = openLibc()
  armDeathSignal(libc, parent)
  const command = argv[0] ?? ''
  const env: Record<string, string> = {}
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined) env[k] = v
  const file = command.includes('/')
    ? command
    : (Bun.which(command, { PATH: env.PATH || DEFAULT_PATH }) ?? Bun.which(command, { PATH: DEFAULT_PATH }))
  const what = `cannot start the main process: ${command || "''"}`
  if (file === null || command === '') return refuse(`${what}: command not found`, 127)
  const ignored = libc ? ignoredSignals() : []
  for (const n of ignored) libc!.signal(n, SIG_DFL)
  try {
    process.execve!(file, argv, env)
  } catch (err) {
    // Ignored again: a broken stderr must not turn the refusal's status into a SIGPIPE death.
    for (const n of ignored) libc!.signal(n, SIG_IGN)
    // A shell's conventions, as startMain had them when Bun.spawn itself failed.
    const code = (err as NodeJS.ErrnoException)?.code
    // Bun's words ("ENOENT, No such file or directory './x'") in a shell's ("no such file or directory").
    const text = ((err as Error)?.message ?? String(err)).replace(/^E[A-Z]+[:,] /, '').replace(/ '.*'$/s, '')
    const reason = text.charAt(0).toLowerCase() + text.slice(1)
    return refuse(`${what}: ${reason}`, code === 'ENOENT' ? 127 : 126)
  }
  return refuse(`${what}: process.execve is missing`, 126)
}

interface Libc {
  prctl(option: number, a: number, b: number, c: number, d: number): number
  getppid(): number
  signal(n: number, handler: number): number
}

/** libc over FFI (core/libc.ts: the one mapped, glibc's or musl's); undefined where it cannot be had. */
function openLibc(): Libc | undefined {
  return (
    libcCalls<Libc>(({ FFIType: { u64, i32 } }) => ({
      prctl: { args: [i32, u64, u64, u64, u64], returns: i32 },
      getppid: { args: [], returns: i32 },
      signal: { args: [i32, u64], returns: u64 },
    })) ?? undefined
  )
}

/**
 * PR_SET_PDEATHSIG, then a look at who the parent is now: execd may have died before the prctl,
 * and the kernel says nothing of a death that came first. The signal is sent when the *thread*
 * that forked this process ends: startMain spawns from execd's main thread, which lives as long
 * as execd. Without libc's prctl the command still runs, as before.
 */
function armDeathSignal(libc: Libc | undefined, parent: number): void {
  if (!libc || libc.prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) !== 0) return
  if (libc.getppid() !== parent) process.kill(process.pid, 'SIGKILL')
}

/**
 * The signals ignored here (Bun ignores SIGPIPE and SIGXFSZ; execd's own parent may have ignored
 * more): an ignored signal stays ignored across execve, a handled one does not. Bun.spawn gave
 * the command every signal at its default, and so does this: a `yes | head` in the main process
 * got EPIPE, not the SIGPIPE that ends it, when the first try at this step left them ignored.
 */
function ignoredSignals(): number[] {
  const { readFileSync } = require('node:fs') as typeof import('node:fs')
  return signalsIn(signalMask(readFileSync('/proc/self/status', 'latin1'), 'SigIgn') ?? 0n)
}

function refuse(line: string, status: number): never {
  // Written before the exit: a write to a pipe may still be queued when process.exit runs.
  const { writeSync } = require('node:fs') as typeof import('node:fs')
  try {
    writeSync(2, `execd: ${line}\n`)
  } catch {} // no stderr: the status says it
  process.exit(status)
}
