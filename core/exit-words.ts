/** How an exit is told: in the words of Go's os/exec, which the SDKs show and parse. */
import { constants } from 'node:os'
import type { ExitInfo } from './process'

/** Text for an exit, in the words of Go's os/exec (the SDKs show these). */
export function describeExit(info: ExitInfo): string {
  if (info.signal) return `signal: ${signalWord(info.signal)}`
  return `exit status ${info.code}`
}

const SIGNAL_WORDS: Record<string, string> = {
  SIGKILL: 'killed',
  SIGTERM: 'terminated',
  SIGINT: 'interrupt',
  SIGSEGV: 'segmentation fault',
  SIGABRT: 'aborted',
  SIGHUP: 'hangup',
  SIGPIPE: 'broken pipe',
  SIGQUIT: 'quit',
  SIGBUS: 'bus error',
  SIGFPE: 'floating point exception',
  SIGILL: 'illegal instruction',
}

const signalWord = (sig: string): string => SIGNAL_WORDS[sig] ?? sig.toLowerCase().replace(/^sig/, '')

/** The signal a `describeExit` word names ('killed' → 'SIGKILL'), the inverse of signalWord. */
export const signalNamed = (word: string): string =>
  Object.keys(SIGNAL_WORDS).find(sig => SIGNAL_WORDS[sig] === word) ?? `SIG${word.toUpperCase()}`

/**
 * The status a shell would give the exit `describeExit` (or deathWords) told: `exit status 3`
 * → 3, `signal: killed` (out of memory too) → 128 + 9. Anything else: undefined.
 */
export function statusOfExit(words: string): number | undefined {
  const code = /^exit status (\d{1,3})$/.exec(words)?.[1]
  if (code !== undefined) return Number(code) <= 255 ? Number(code) : undefined
  const word = /^signal: ([a-z0-9 ]+?)(?:: out of memory\b.*)?$/.exec(words)?.[1]
  const n = word === undefined ? undefined : constants.signals[signalNamed(word) as keyof typeof constants.signals]
  return n === undefined ? undefined : 128 + n
}
