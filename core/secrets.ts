/**
 * Keeps secrets (the access token, the Jupyter token, the SQL DSN) away from the children execd
 * runs. A child inherits execd's environment and can read `/proc/$PPID/cmdline` and
 * `/proc/$PPID/environ`, so once the configuration is read every secret option's variable is
 * removed from `process.env` (`withdrawSecrets`), and before the first child exists its bytes
 * are overwritten in place in the process's original argument and environment blocks
 * (`scrubSecrets`: Linux lets a process write its own memory through `/proc/self/mem`; the
 * blocks' addresses are in `/proc/self/stat`). The overwrite waits for the first child (every
 * spawn path calls it) or for serve's first idle turn, whichever comes first, because it needs
 * node:fs, which a start that loaded it before listening paid for in its first /ping.
 */
import type { OptionSpec } from './config'
import { statFields } from './proc-stat'

/** What is left to overwrite, and who to tell when it cannot be. */
let pending: { envNames: readonly string[]; secrets: readonly string[]; failed?: () => void } | undefined

/**
 * Removes every secret option's variable from `env` now, and keeps the secrets' values for
 * `scrubSecrets`. `failed` is called if the overwrite does not work (off Linux, or where
 * /proc/self/mem is not writable: then the flag and variable stay visible in /proc).
 */
export function withdrawSecrets(
  specs: readonly OptionSpec[],
  values: readonly (string | undefined)[],
  failed?: () => void,
  env: Record<string, string | undefined> = process.env,
): void {
  const envNames = specs.filter(s => s.secret && s.env).map(s => s.env!)
  const named = envNames.some(name => env[name] !== undefined)
  for (const name of envNames) delete env[name]
  const secrets = values.filter((v): v is string => !!v)
  // Nothing set, nothing to overwrite: no reason to open /proc/self/mem at all.
  if (secrets.length === 0 && !named) return
  pending = { envNames, secrets, failed }
}

/**
 * Overwrites the withdrawn secrets in this process's argv and environ blocks, once; a no-op
 * after that or when nothing was withdrawn. Every path that spawns a child calls it first
 * (core/process.ts `spawnOwned`, serve's main process, the bash version probe).
 */
export function scrubSecrets(): void {
  const job = pending
  if (!job) return
  pending = undefined
  try {
    scrubProcessMemory(job.envNames, job.secrets)
  } catch {
    job.failed?.()
  }
}

/** node:fs, loaded by the first scrub rather than with this module (see above). */
const fs = () => require('node:fs') as typeof import('node:fs')

/**
 * Overwrites with '*': environ entries `NAME=…` of the named variables, and argv elements that
 * are a secret or end in `=secret`. Only whole entries are touched so no other variable changes.
 */
function scrubProcessMemory(envNames: readonly string[], secrets: readonly string[]): void {
  const { closeSync, openSync, readFileSync } = fs()
  // Fields 48-51 of proc(5): arg_start arg_end env_start env_end (counted after the
  // parenthesised command name, which may itself contain spaces).
  const stat = readFileSync('/proc/self/stat', 'utf8')
  const [argStart, argEnd, envStart, envEnd] = statFields(stat)
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
  const { readSync, writeSync } = fs()
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
