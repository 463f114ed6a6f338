/**
 * /dev/null put in place of some of execd's own descriptors (dup2(2)), opened as `mode` says:
 * for reading only, each write to it fails (EBADF) as one to a closed fd does
 * (cmd/closed-stdout.ts); for both, it stands in for a terminal let go of, whose modes cannot be
 * set (cmd/lifecycle.ts leaveTerminal). node:fs is required when called: `--version` loads none.
 */
import { libcCalls } from './libc'

interface Dup2 {
  dup2(from: number, to: number): number
}

/** False where it could not be done (no FFI, no /dev/null to open): the caller goes on as before. */
export function devNullOnto(fds: readonly number[], mode: 'r' | 'r+'): boolean {
  if (fds.length === 0) return true
  const libc = libcCalls<Dup2>(({ FFIType: { i32 } }) => ({ dup2: { args: [i32, i32], returns: i32 } }))
  if (!libc) return false
  try {
    const { closeSync, openSync } = require('node:fs') as typeof import('node:fs')
    const devNull = openSync('/dev/null', mode)
    for (const fd of fds) libc.dup2(devNull, fd)
    closeSync(devNull)
    return true
  } catch {
    return false
  }
}
