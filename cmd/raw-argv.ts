/**
 * File names are bytes, but the runtime hands the command line over decoded: each byte that is
 * not UTF-8 became U+FFFD, so `execd fs rm $'b\xff.t'` named another file. The exact bytes are
 * in /proc/self/cmdline; a word that is not UTF-8 is taken from there, as a `BytePath` that the
 * files section's operations (and the wire's `path_base64`) take as it is.
 */
import { readFileSync } from 'node:fs'
import { BytePath, type RawPath } from '../plugins/files/paths'

/** A path typed as bytes that are not UTF-8: printed (and in --json) as a listing shows it, `\xHH`. */
export class ArgBytes extends BytePath {
  toJSON(): string {
    return this.toString()
  }
}

const fatal = new TextDecoder('utf-8', { fatal: true })

/**
 * For each of `words` (the tail of this process's argv), its exact bytes when they are not
 * UTF-8. The tail of the kernel's argv is matched word by word, each checked to decode to the
 * runtime's word: anything else (no /proc, a word rewritten on the way) leaves the words as text.
 */
export function rawWords(words: readonly string[]): (ArgBytes | undefined)[] {
  const none = words.map(() => undefined)
  let cmdline: Buffer
  try {
    // Bounded by the kernel: argv and its environment fit in ARG_MAX.
    cmdline = readFileSync('/proc/self/cmdline')
  } catch {
    return none
  }
  const raw: Buffer[] = []
  for (let at = 0; at < cmdline.length;) {
    const end = cmdline.indexOf(0, at)
    const stop = end < 0 ? cmdline.length : end
    raw.push(cmdline.subarray(at, stop))
    at = stop + 1
  }
  const tail = raw.slice(raw.length - words.length)
  if (tail.length !== words.length || tail.some((b, i) => b.toString('utf8') !== words[i])) return none
  return tail.map(bytes => {
    try {
      fatal.decode(bytes)
      return undefined
    } catch {
      return new ArgBytes(Buffer.from(bytes))
    }
  })
}

/** A path as a query names it: `path`, or `path_base64` for bytes. */
export const queryOf = (paths: readonly RawPath[]) => ({
  path: paths.filter(p => typeof p === 'string'),
  path_base64: paths.flatMap(p => (typeof p === 'string' ? [] : [base64(p)])),
})

/** The entries of a JSON body (mkdir, chmod, replace): keyed by the path, its bytes in `path_base64`. */
export function entriesOf<T extends object>(paths: readonly RawPath[], value: T): Record<string, T> {
  return Object.fromEntries(
    paths.map(p => [String(p), typeof p === 'string' ? value : { ...value, path_base64: base64(p) }]),
  )
}

/** A query's or an upload's one path: `path`, or `path_base64` for bytes. */
export const named = (p: RawPath): { path: string } | { path_base64: string } =>
  typeof p === 'string' ? { path: p } : { path_base64: base64(p) }

/** One end of a move: `src` or `src_base64` (`dest`, `dest_base64`). */
export const endOf = <K extends 'src' | 'dest'>(key: K, p: RawPath) =>
  typeof p === 'string' ? { [key]: p } : { [`${key}_base64`]: base64(p) }

const base64 = (p: BytePath) => p.bytes.toString('base64')
