/**
 * `--help` fitted to the reader's width: cac prints each option's description on one line (up to
 * 300 columns for serve's), which a terminal wraps at its edge into the flag column, and a pager
 * or a file shows whole. Descriptions are wrapped at the terminal's width (80 when stdout is no
 * terminal), each continued under its own column, as git's and cargo's help are.
 */
import type { CAC } from 'cac'
import { POLLOUT, pollOne } from '../core/poll'
import { BROKEN_PIPE_EXIT } from './broken-pipe'
import { localText } from './locale-text'

/** A help section as cac hands it to `cli.help(...)`. */
export interface HelpSection {
  title?: string
  body: string
}

/** Below this, a terminal cannot show a flag and a word of its description on one row. */
const NARROWEST = 20
/** A description with less room than this beside its flags starts on the next row instead. */
const LEAST_ROOM = 24
/** The indent of a description moved under its flags. */
const UNDER = 6

/** The width help is wrapped at: the terminal's, or 80 for a pipe or a file. */
export function helpWidth(stdout: { isTTY?: boolean; columns?: number } = terminalOut()): number {
  const columns = stdout.isTTY && Number.isInteger(stdout.columns) ? stdout.columns! : 80
  return Math.max(NARROWEST, columns)
}

/**
 * stdout when it may be a terminal. A pipe or a file is told by fstat: `process.stdout` is made
 * on first use, 10–19 ms of CPU at load (the whole of what wrapping cost), and help otherwise
 * never makes it.
 */
function terminalOut(): { isTTY?: boolean; columns?: number } {
  try {
    const { fstatSync } = require('node:fs') as typeof import('node:fs')
    if (!fstatSync(1).isCharacterDevice()) return {}
  } catch {
    return {}
  }
  return process.stdout
}

/**
 * The sections with their two-column rows (flags or a name, then a description) wrapped at
 * `width`. Usage and examples are left whole: a command wrapped is a command that cannot be
 * copied.
 */
export function wrapHelp(sections: HelpSection[], width = helpWidth()): HelpSection[] {
  return sections.map(s => {
    const body = localText(s.body)
    return /^(Usage|Examples)/.test(s.title ?? '')
      ? { ...s, body }
      : {
          ...s,
          body: body
            .split('\n')
            .map(l => wrapRow(l, width))
            .join('\n'),
        }
  })
}

function wrapRow(line: string, width: number): string {
  const row = line.trimEnd()
  if (row.length <= width) return row
  // The description's column: after the indent, the flags and a gap of two or more spaces.
  const lead = row.length - row.trimStart().length
  const gap = row.indexOf('  ', lead)
  // A line of prose (a verb's description) wraps under its own start.
  let column = gap < 0 ? lead : gap
  while (row.charCodeAt(column) === 32) column++
  const indent = gap < 0 ? lead : width - column >= LEAST_ROOM ? column : UNDER
  const out = [indent === column ? row.slice(0, column) : `${row.slice(0, gap)}\n${' '.repeat(indent)}`]
  let used = indent
  for (const w of row.slice(column).split(' ')) {
    if (w === '') continue
    if (used > indent && used + 1 + w.length > width) {
      out.push(`\n${' '.repeat(indent)}`)
      used = indent
    }
    out.push(used > indent ? ` ${w}` : w)
    used += (used > indent ? 1 : 0) + w.length
  }
  return out.join('')
}

/**
 * Makes `rewrite` the program's help, printed by printHelp when asked: cac prints it itself
 * through console.info, which drops a failed write, and `--help > /dev/full` (or `>&-`) exited 0
 * with nothing written.
 */
export function helpOf(cli: CAC, rewrite: (sections: HelpSection[]) => HelpSection[]): void {
  cli.help(rewrite)
  cli.showHelpOnExit = false
}

/**
 * The help cac makes (the verb's typed, else the program's) written to stdout as one write:
 * 0, or BROKEN_PIPE_EXIT when its reader has gone (`| true`). stdout's other failures are
 * thrown, for the one line every verb's failed stdout gets (ENOSPC, EBADF for a closed one).
 */
export function printHelp(cli: CAC): number {
  const info = console.info
  let text = ''
  console.info = (help: string) => void (text += `${help}\n`)
  try {
    cli.outputHelp()
  } finally {
    console.info = info
  }
  return writeStdout(Buffer.from(text))
}

/** `bytes` to fd 1, synchronously, whole (short writes continued; a non-blocking pipe waited for). */
function writeStdout(bytes: Buffer): number {
  const { writeSync } = require('node:fs') as typeof import('node:fs')
  for (let at = 0, waits = 0; at < bytes.length;) {
    try {
      at += writeSync(1, bytes, at)
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code
      if (code === 'EPIPE') return BROKEN_PIPE_EXIT
      if (code !== 'EAGAIN') throw err
      waitForRoom(waits++)
    }
  }
  return 0
}

/** The longest sleep between tries where poll(2) is not to be had. */
const LONGEST_SLEEP_MS = 64

/**
 * Waits for room in a non-blocking stdout another writer of the pipeline set so (a full pipe,
 * a terminal stopped by Ctrl-S) as a blocking write waits: in poll(2), woken by room, by the
 * reader leaving (the next write's EPIPE) or by a signal. A sleep of 1 ms between tries woke
 * execd 300–700 times a second for as long as the reader took, for nothing. Without FFI, the
 * sleeps double up to 64 ms.
 */
function waitForRoom(waits: number): void {
  const seen = pollOne(1, POLLOUT, -1)
  if (seen !== undefined && seen >= 0) return
  Bun.sleepSync(Math.min(LONGEST_SLEEP_MS, 2 ** Math.min(waits, 6)))
}
