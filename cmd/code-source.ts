/**
 * Where a one-shot cell's code comes from: the arguments, `-f FILE`, or stdin (`-`, or a pipe),
 * read within the most a daemon takes in one request.
 */
import { createReadStream } from 'node:fs'
import { errnoOf } from '../core/errors'

/**
 * The most code one cell takes from a file or stdin: what a daemon takes in a JSON body by
 * default (--max-json-bytes), so a cell that runs here runs against a daemon too. Read whole,
 * `-f /dev/zero` or an endless pipe grew the verb without end (a 400 MB stdin: 3.1 GiB, 2.5 min).
 */
const MAX_CODE_BYTES = 16 << 20

export async function readSource(code: string[], file: string | undefined): Promise<string | undefined> {
  if (file !== undefined) file = String(file)
  if (file === '-' || (!file && code.length === 1 && code[0] === '-')) return await codeFrom(process.stdin, 'stdin')
  if (file) return await codeFrom(createReadStream(file), file)
  if (code.length) return code.join(' ')
  if (!process.stdin.isTTY) return await codeFrom(process.stdin, 'stdin')
  return undefined
}

async function codeFrom(source: AsyncIterable<Uint8Array> & { destroy(): void }, name: string): Promise<string> {
  const parts: Uint8Array[] = []
  let bytes = 0
  try {
    for await (const chunk of source) {
      bytes += chunk.byteLength
      if (bytes > MAX_CODE_BYTES) {
        throw new Error(`${name}: code larger than ${MAX_CODE_BYTES >> 20} MiB (a daemon's JSON body limit)`)
      }
      parts.push(chunk)
    }
  } catch (err) {
    // A system call's failure names the path as typed (a read of a directory names none).
    if (errnoOf(err)) Object.assign(err as object, { path: name })
    throw err
  } finally {
    source.destroy()
  }
  return new TextDecoder().decode(Buffer.concat(parts))
}
