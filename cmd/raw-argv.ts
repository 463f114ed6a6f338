/**
 * File names are bytes, but the runtime hands the command line over decoded: each byte that is
 * not UTF-8 became U+FFFD, so `execd fs rm $'b\xff.t'` named another file. The exact bytes are
 * in /proc/self/cmdline; a word that is not UTF-8 is taken from there, as a `BytePath` that the
 * files section's operations (and the wire's `path_base64`) take as it is.
 */
import { readFileSync } from 'node:fs'
import { BytePath } from '../core/beneath/path-scope'

/** A path typed as bytes that are not UTF-8: printed (and in --json) as a listing shows it, `\xHH`. */
export class ArgBytes extends BytePath {
  toJSON(): string {
    return this.toString()
  }
}

// ignoreBOM keeps a leading U+FEFF: the name's own bytes, not a marker to drop.
const fatal = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })

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
    const typed = asTyped(bytes)
    return typeof typed === 'string' ? undefined : typed
  })
}

/** A name's bytes as a path: its text when they are UTF-8, else the bytes themselves. */
export function asTyped(bytes: Uint8Array): string | ArgBytes {
  try {
    return fatal.decode(bytes)
  } catch {
    return new ArgBytes(Buffer.from(bytes))
  }
}
