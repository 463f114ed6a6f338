/**
 * The access token read from a file or standard input (`--access-token-file`), apart from
 * core/secrets.ts: only a start or verb that names one loads it, and with it node:fs.
 */
import { readFileSync, readSync } from 'node:fs'

/** First line of `path` ('-' = standard input), without its line end; empty is an error. */
export function readTokenFile(path: string): string {
  const text = path === '-' ? readLineFromStdin() : readFileSync(path, 'utf8')
  const [first = ''] = text.split('\n')
  const line = first.replace(/\r$/, '')
  if (line === '') throw new Error(`--access-token-file ${path}: the first line is empty`)
  return line
}

/** Reads byte by byte so nothing past the first line is taken from a shared stdin. */
function readLineFromStdin(): string {
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
    if (n === 0 || byte === undefined || byte === 0x0a) break
    bytes.push(byte)
  }
  return Buffer.from(bytes).toString('utf8')
}
