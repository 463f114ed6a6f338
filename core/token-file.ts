/**
 * The access token read from a file or standard input (`--access-token-file`), apart from
 * core/secrets.ts: only a start or verb that names one loads it, and with it node:fs.
 */
import { closeSync, openSync, readSync } from 'node:fs'
import { isatty } from 'node:tty'
import { ConfigError } from './config'
import { errnoOf, errnoText } from './errors'

/** Longer than any token: a first line past it is not one (`/dev/zero` took 1.2 GB in 3 s). */
const MAX_LINE = 64 * 1024

/** First line of `path` ('-' = standard input), without its line end; empty is an error. */
export function readTokenFile(path: string): string {
  let text: string
  try {
    text = path === '-' ? readLineFromStdin() : readFirstLine(path)
  } catch (err) {
    if (err instanceof ConfigError) throw err
    // The path named, always: a directory was "execd: is a directory".
    const why = errnoOf(err) ? errnoText(err) : (err as Error).message
    throw new ConfigError(`--access-token-file ${path}: ${why}`)
  }
  const line = text.replace(/\r$/, '')
  if (line === '') throw new ConfigError(`--access-token-file ${path}: the first line is empty`)
  return line
}

/**
 * Up to the first line end, or the end: never the whole file first (a FIFO whose writer keeps
 * it open would be waited on for good; a device without an end read until memory ran out).
 */
function readFirstLine(path: string): string {
  const fd = openSync(path, 'r')
  try {
    const chunks: Buffer[] = []
    let size = 0
    for (;;) {
      const chunk = Buffer.alloc(4096)
      const n = readSync(fd, chunk, 0, chunk.length, null)
      if (n === 0) break
      const eol = chunk.subarray(0, n).indexOf(0x0a)
      chunks.push(chunk.subarray(0, eol === -1 ? n : eol))
      size += eol === -1 ? n : eol
      if (size > MAX_LINE)
        throw new ConfigError(`--access-token-file ${path}: the first line is longer than ${MAX_LINE} bytes`)
      if (eol !== -1) break
    }
    return Buffer.concat(chunks).toString('utf8')
  } finally {
    closeSync(fd)
  }
}

/**
 * Reads byte by byte so nothing past the first line is taken from a shared stdin. From a
 * terminal, as a password is typed: asked for, and not echoed. It waited without a word, and
 * the token typed stayed on the screen and in the terminal's scrollback.
 */
function readLineFromStdin(): string {
  if (!isatty(0)) return readLine(byte => (byte === 0x0a ? 'end' : 'keep'))
  const stdin = process.stdin as unknown as { setRawMode(on: boolean): void }
  // Raw before the question: a key typed the moment it shows was echoed.
  stdin.setRawMode(true)
  process.stderr.write('execd: access token (not shown as it is typed): ')
  let interrupted = false
  try {
    return readLine((byte, bytes) => {
      if (byte === 0x03) interrupted = true
      if (byte === 0x03 || byte === 0x0d || byte === 0x0a || (byte === 0x04 && bytes.length === 0)) return 'end'
      if (byte === 0x7f || byte === 0x08) dropLastCharacter(bytes)
      if (byte === 0x15) bytes.length = 0
      // Keys that are no part of a token (an arrow's escape, Ctrl-D mid-line) are not taken.
      return byte < 0x20 || byte === 0x7f ? 'skip' : 'keep'
    })
  } finally {
    stdin.setRawMode(false)
    process.stderr.write('\n')
    // Raw, Ctrl-C is a byte, not the signal: sent now, the terminal's modes put back first.
    if (interrupted) process.kill(process.pid, 'SIGINT')
  }
}

/** A backspace takes a whole character: its UTF-8 continuation bytes with it. */
function dropLastCharacter(bytes: number[]): void {
  while (bytes.length > 0 && ((bytes.at(-1) ?? 0) & 0xc0) === 0x80) bytes.pop()
  bytes.pop()
}

/** Bytes of stdin up to the one `take` says ends the line (given the bytes so far; it may edit them). */
function readLine(take: (byte: number, bytes: number[]) => 'end' | 'skip' | 'keep'): string {
  const bytes: number[] = []
  const one = Buffer.alloc(1)
  for (;;) {
    let n: number
    try {
      n = readSync(0, one, 0, 1, null)
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EAGAIN') continue
      throw err
    }
    const [byte] = one
    if (n === 0 || byte === undefined) break
    const what = take(byte, bytes)
    if (what === 'end') break
    if (what === 'skip') continue
    bytes.push(byte)
    if (bytes.length > MAX_LINE)
      throw new ConfigError(`--access-token-file -: the first line is longer than ${MAX_LINE} bytes`)
  }
  return Buffer.from(bytes).toString('utf8')
}
