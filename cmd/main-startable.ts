/**
 * The main process of `serve -- <command>` looked for before execd listens, as a bad flag is:
 * `serve -- /nonexistent` listened, said so, logged a JSON error, shut down and exited 127, where
 * a shell, tini or docker says one line and runs nothing. What cannot be told before the exec (a
 * script whose interpreter is missing, a file removed meanwhile) still fails there, in one line
 * of the same words after the listening line (cmd/main-exec.ts).
 */
import { StatusError } from './errors'
import { DEFAULT_PATH } from './main-exec'

/** Throws a StatusError, in a shell's words, when `command` is certain not to start. */
export function checkStartable(command: string, path = process.env.PATH): void {
  const found = (dirs: string) => Bun.which(command, { PATH: dirs }) !== null
  if (command.includes('/')) {
    if (found('')) return
  } else if (command !== '' && (found(path || DEFAULT_PATH) || found(DEFAULT_PATH))) return
  const what = `cannot start the main process: ${command || "''"}`
  if (!command.includes('/')) throw new StatusError(`${what}: command not found`, 127)
  // Said only when refused (this start exits): node:fs is not loaded before listening otherwise.
  const { statSync } = require('node:fs') as typeof import('node:fs')
  const st = statSync(command, { throwIfNoEntry: false })
  if (!st) throw new StatusError(`${what}: no such file or directory`, 127)
  throw new StatusError(`${what}: ${st.isDirectory() ? 'is a directory' : 'permission denied'}`, 126)
}
