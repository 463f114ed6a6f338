/** How an exit is told: in the words of Go's os/exec, which the SDKs show and parse. */
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
