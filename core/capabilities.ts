/**
 * What this container offers execd, and what a missing piece disables. execd is copied into
 * containers it knows nothing about: one without bash, without /dev/null or without devpts
 * must get a warning at start naming the piece, and a request that needs it a JSON error
 * naming it (501 NOT_SUPPORTED) — not a 404 for a file nobody asked about, or a crash.
 * Probed on every call: a container may gain or lose bash while execd runs. A request's check
 * does not search PATH again while the executable it found last is still there (one stat
 * instead of one per PATH entry); the listing searches afresh.
 */
import { accessSync, constants, existsSync, mkdtempSync, rmdirSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ExecdError } from './errors'
import type { Logger } from './log'

export interface Capability {
  /** The piece: `/proc`, `/dev/null`, `bash`, `shell`, `devpts`, `temp dir`. */
  name: string
  ok: boolean
  /** Where it was found, or what is missing. */
  detail: string
  /** What needs it. */
  needed_by: string
}

const charDevice = (path: string): boolean => {
  try {
    return statSync(path).isCharacterDevice()
  } catch {
    return false
  }
}

const DISABLES = {
  '/proc': 'execd itself (the Bun runtime aborts at start without it), metrics, process listing of terminals',
  '/dev/null': 'every child process (commands, sessions, code contexts, terminals): their stdin is /dev/null',
  bash: 'sessions, the bash language and terminals',
  shell: 'commands (bash -c, or sh -c without bash)',
  devpts: 'terminals with a pseudo-terminal (POST /pty, then ws without ?pty=0); ?pty=0 pipes still work',
  // An unprivileged execd with TMPDIR unwritable started without a word: each of these then
  // failed on its own, one of them (a session's start) as a 404 for a file nobody asked about.
  'temp dir':
    "sessions, commands' logs (their streams still get all), javascript, typescript, sql, go and java contexts, isolated sessions",
} as const

type Piece = keyof typeof DISABLES

/** What the last search found, by name and PATH. */
const found = new Map<string, string>()

/** Bun.which(name), or the path it gave last time while that is still an executable file. */
function whichKept(name: string): string | null {
  const key = `${name}\0${process.env.PATH ?? ''}`
  const last = found.get(key)
  if (last !== undefined && isExecutable(last)) return last
  const path = Bun.which(name)
  if (path) found.set(key, path)
  else found.delete(key)
  return path
}

/** The shell commands run in: bash, else sh, by absolute path on execd's own PATH (kept). */
export function findShell(): { path: string; name: 'bash' | 'sh' } | undefined {
  const bash = whichKept('bash')
  const path = bash ?? whichKept('sh')
  return path ? { path, name: bash ? 'bash' : 'sh' } : undefined
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK)
    return true
  } catch {
    return false
  }
}

function check(name: Piece, fresh = true): Capability {
  const needed_by = DISABLES[name]
  const which = fresh ? (cmd: string) => Bun.which(cmd) : whichKept
  switch (name) {
    case '/proc': {
      const ok = existsSync('/proc/self/stat')
      return { name, ok, needed_by, detail: ok ? 'mounted' : '/proc is not mounted' }
    }
    case '/dev/null': {
      const ok = charDevice('/dev/null')
      const detail = ok
        ? 'character device'
        : existsSync('/dev/null')
          ? '/dev/null is not a character device'
          : '/dev/null is missing'
      return { name, ok, needed_by, detail }
    }
    case 'bash': {
      const path = which('bash')
      return { name, ok: !!path, needed_by, detail: path ?? 'bash is not installed (not found on PATH)' }
    }
    case 'shell': {
      const path = which('bash') ?? which('sh')
      return { name, ok: !!path, needed_by, detail: path ?? 'no shell: neither bash nor sh is on PATH' }
    }
    case 'temp dir': {
      const dir = tmpdir()
      let detail = dir
      try {
        if (!statSync(dir).isDirectory()) detail = `${dir} (TMPDIR) is not a directory`
        else {
          accessSync(dir, constants.W_OK | constants.X_OK)
          // Made, not only asked: as root access(W_OK) said yes to /proc and /sys, where no dir
          // can be made (ENOENT, EPERM), and the start said nothing while every user of it failed.
          rmdirSync(mkdtempSync(join(dir, '.execd-probe-')))
        }
      } catch (err) {
        detail = `${dir} (TMPDIR) cannot be written: ${(err as NodeJS.ErrnoException).code ?? 'error'}`
      }
      return { name, ok: detail === dir, needed_by, detail }
    }
    case 'devpts': {
      const ok = charDevice('/dev/ptmx') && existsSync('/dev/pts')
      return { name, ok, needed_by, detail: ok ? '/dev/ptmx' : '/dev/ptmx or /dev/pts (devpts) is missing' }
    }
  }
}

/** Every piece, probed now. */
export const capabilities = (): Capability[] => (Object.keys(DISABLES) as Piece[]).map(name => check(name))

/** Throws 501 NOT_SUPPORTED naming the missing piece and what it disables, unless it is here. */
export function requirePiece(name: Piece, what?: string): void {
  const c = check(name, false)
  if (c.ok) return
  throw new ExecdError(
    'NOT_SUPPORTED',
    `${what ? `${what}: ` : ''}${c.detail} in this container; it is needed by ${c.needed_by}`,
  )
}

/** One warning line at start naming what is missing and what that disables; nothing when all is here. */
export function warnMissing(log: Logger): Capability[] {
  const missing = capabilities().filter(c => !c.ok)
  if (missing.length > 0) {
    log.warn(`this container lacks ${missing.map(c => `${c.name} (disables ${c.needed_by})`).join('; ')}`, {
      missing: missing.map(c => c.name),
    })
  }
  return missing
}
