/**
 * Keeps secrets (the access token, the Jupyter token, the SQL DSN) away from the children execd
 * runs. A child inherits execd's environment and can read `/proc/$PPID/cmdline` and
 * `/proc/$PPID/environ`, so after the configuration is read every secret option's variable is
 * removed from `process.env`, and its bytes are overwritten in place in the process's original
 * argument and environment blocks (Linux lets a process write its own memory through
 * `/proc/self/mem`; the blocks' addresses are in `/proc/self/stat`).
 */
import { closeSync, openSync, readFileSync, readSync, writeSync } from 'node:fs'
import type { OptionSpec } from './config'
import { statFields } from './procfs'

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

/**
 * Removes every secret option's variable from `env` and overwrites the secrets' values in this
 * process's argv and environ blocks. Returns whether the in-memory scrub worked (false off
 * Linux or where /proc/self/mem is not writable: then the flag and variable stay visible).
 */
export function hideSecrets(
  specs: readonly OptionSpec[],
  values: readonly (string | undefined)[],
  env: Record<string, string | undefined> = process.env,
): boolean {
  const names = specs.filter(s => s.secret && s.env).map(s => s.env!)
  const named = names.some(name => env[name] !== undefined)
  for (const name of names) delete env[name]
  const secrets = values.filter((v): v is string => !!v)
  // Nothing set, nothing to overwrite: no reason to open /proc/self/mem at every start.
  if (secrets.length === 0 && !named) return true
  try {
    scrubProcessMemory(names, secrets)
    return true
  } catch {
    return false
  }
}

/**
 * Overwrites with '*': environ entries `NAME=…` of the named variables, and argv elements that
 * are a secret or end in `=secret`. Only whole entries are touched so no other variable changes.
 */
function scrubProcessMemory(envNames: readonly string[], secrets: readonly string[]): void {
  // Fields 48-51 of proc(5): arg_start arg_end env_start env_end.
  const [argStart, argEnd, envStart, envEnd] = statFields(readFileSync('/proc/self/stat', 'utf8'))
    .slice(48 - 3, 52 - 3)
    .map(Number)
  if (argStart === undefined || argEnd === undefined || envStart === undefined || envEnd === undefined)
    throw new Error('no argv/environ addresses in /proc/self/stat')
  if (!(argEnd > argStart && envEnd > envStart)) throw new Error('no argv/environ addresses in /proc/self/stat')
  const fd = openSync('/proc/self/mem', 'r+')
  try {
    rewrite(fd, argStart, argEnd, entry => {
      for (const s of secrets) {
        if (entry === s) return 0
        if (entry.endsWith(`=${s}`)) return Buffer.byteLength(entry) - Buffer.byteLength(s)
      }
      return -1
    })
    rewrite(fd, envStart, envEnd, entry => {
      const name = envNames.find(n => entry.startsWith(`${n}=`))
      return name === undefined ? -1 : name.length + 1
    })
  } finally {
    closeSync(fd)
  }
}

/** `keep(entry)`: how many leading bytes stay readable (`NAME=`, `--flag=`), -1 = untouched. */
function rewrite(fd: number, start: number, end: number, keep: (entry: string) => number): void {
  const block = Buffer.alloc(end - start)
  readSync(fd, block, 0, block.length, start)
  let from = 0
  while (from < block.length) {
    let to = block.indexOf(0, from)
    if (to < 0) to = block.length
    const entry = block.subarray(from, to)
    const kept = keep(entry.toString('utf8'))
    if (kept >= 0) {
      entry.fill(0x2a, kept)
      writeSync(fd, entry, 0, entry.length, start + from)
    }
    from = to + 1
  }
}
