/** How an exit is told: in the words of Go's os/exec, which the SDKs show and parse. */
import type { ExitInfo } from './process'

/** Text for an exit, in the words of Go's os/exec (the SDKs show these). */
export function describeExit(info: ExitInfo): string {
  if (info.signal) return `signal: ${signalWord(info.signal)}`
  return `exit status ${info.code}`
}

/**
 * Linux's signals 1–31 by number (the same numbers on x86-64 and arm64), each with the word Go's
 * `syscall.Signal.String()` gives it, read off Go 1.19 on this machine. A signal past 31 (the
 * real-time ones) Go calls `signal N`. Numbers, not node:os's table: serve's start loads this
 * file, and node:os is not loaded before it listens.
 */
const SIGNALS: readonly (readonly [name: string, word: string])[] = [
  ['', ''],
  ['SIGHUP', 'hangup'],
  ['SIGINT', 'interrupt'],
  ['SIGQUIT', 'quit'],
  ['SIGILL', 'illegal instruction'],
  ['SIGTRAP', 'trace/breakpoint trap'],
  ['SIGABRT', 'aborted'],
  ['SIGBUS', 'bus error'],
  ['SIGFPE', 'floating point exception'],
  ['SIGKILL', 'killed'],
  ['SIGUSR1', 'user defined signal 1'],
  ['SIGSEGV', 'segmentation fault'],
  ['SIGUSR2', 'user defined signal 2'],
  ['SIGPIPE', 'broken pipe'],
  ['SIGALRM', 'alarm clock'],
  ['SIGTERM', 'terminated'],
  ['SIGSTKFLT', 'stack fault'],
  ['SIGCHLD', 'child exited'],
  ['SIGCONT', 'continued'],
  ['SIGSTOP', 'stopped (signal)'],
  ['SIGTSTP', 'stopped'],
  ['SIGTTIN', 'stopped (tty input)'],
  ['SIGTTOU', 'stopped (tty output)'],
  ['SIGURG', 'urgent I/O condition'],
  ['SIGXCPU', 'CPU time limit exceeded'],
  ['SIGXFSZ', 'file size limit exceeded'],
  ['SIGVTALRM', 'virtual timer expired'],
  ['SIGPROF', 'profiling timer expired'],
  ['SIGWINCH', 'window changed'],
  ['SIGIO', 'I/O possible'],
  ['SIGPWR', 'power failure'],
  ['SIGSYS', 'bad system call'],
]

/** Other names of the same numbers. */
const ALIASES: Record<string, number> = { SIGIOT: 6, SIGPOLL: 29, SIGUNUSED: 31 }

const LAST_SIGNAL = 64

/** The number of a signal as Bun reports it: a name ('SIGUSR1'), or digits for a real-time one ('34'). */
function signalNumber(sig: string): number | undefined {
  if (/^\d{1,2}$/.test(sig)) return Number(sig) >= 1 && Number(sig) <= LAST_SIGNAL ? Number(sig) : undefined
  const n = SIGNALS.findIndex(([name]) => name === sig)
  return n > 0 ? n : ALIASES[sig]
}

function signalWord(sig: string): string {
  const n = signalNumber(sig)
  if (n === undefined) return sig.toLowerCase().replace(/^sig/, '')
  return SIGNALS[n]?.[1] ?? `signal ${n}`
}

/**
 * The signal's number a `describeExit` word names ('killed' → 9, 'signal 34' → 34), the inverse
 * of signalWord: the CLI's exit status is 128 + it, as a shell's would be.
 */
export function signalOfWord(word: string): number | undefined {
  const n = SIGNALS.findIndex(([, w]) => w === word)
  if (n > 0) return n
  const numbered = /^signal (\d{1,2})$/.exec(word)?.[1]
  return numbered === undefined ? undefined : signalNumber(numbered)
}

/**
 * The status a shell gives the exit `describeExit` told: `exit status 3` → 3, `signal: killed`
 * → 128 + 9, with what execd adds after the words (` (timeout after N ms)`, `: out of memory…`,
 * a live bash run's `exit status 137: out of memory…`, and what a shared OOM count saw:
 * `signal: killed (the kernel's OOM…)`, `exit status 137 (the kernel's OOM…)`).
 * Anything else: undefined.
 */
export function shellStatusOf(words: string): number | undefined {
  const code = /^exit status (\d{1,3})(?:: out of memory\b.*| \(.*)?$/.exec(words)?.[1]
  if (code !== undefined) return Number(code) <= 255 ? Number(code) : undefined
  const word = /^signal: ([A-Za-z0-9 /]+?)(?: \(.*|: out of memory\b.*)?$/.exec(words)?.[1]
  const n = word === undefined ? undefined : signalOfWord(word)
  return n === undefined ? undefined : 128 + n
}
