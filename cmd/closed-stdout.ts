/**
 * `execd <verb> >&-`: stdout closed. Bun opens /dev/null onto a closed fd 0–2 before any of
 * ours runs (strace: `fcntl(1, F_GETFD) = -1 EBADF`, then `openat("/dev/null", O_RDWR|O_CLOEXEC)
 * = 1`), so every write went nowhere and the verb exited 0 with its output lost, where `cat`
 * says `write error: Bad file descriptor` and exits 1. That stand-in is told apart from a
 * `> /dev/null` typed on purpose by its close-on-exec flag: an fd a process is started with
 * cannot carry one (exec closed it), so fd 1 with the flag was opened in this process. /dev/null
 * opened for reading takes its place: each write to it fails with EBADF, as one to a closed fd
 * does, and every way execd writes stdout (process.stdout, help, Bun.stdout) fails the way it
 * fails on a full disk (`> /dev/full`): one line, exit 1, as soon as the verb writes.
 */
import { devNullOnto } from '../core/dev-null-onto'

/** What a write to it says, for the one line (`cat`: write error: Bad file descriptor). */
export const STDOUT_CLOSED = 'cannot write: stdout is closed'

/** O_CLOEXEC as /proc/<pid>/fdinfo shows an fd's close-on-exec flag (octal 02000000 on Linux). */
const CLOSE_ON_EXEC = 0o2000000

/** Whether fd 1, by its /proc/self/fdinfo/1, was opened in this process: Bun's stand-in for a closed stdout. */
export function openedHere(fdinfo: string): boolean {
  const flags = /^flags:\s*([0-7]+)$/m.exec(fdinfo)?.[1]
  return flags !== undefined && (Number.parseInt(flags, 8) & CLOSE_ON_EXEC) !== 0
}

/**
 * Makes a stdout closed at start fail each write (EBADF); nothing when it was open. Read with
 * Bun.file, not node:fs: `--version` loads no built-in (node:fs is +5–9 ms of a start), and only
 * a closed stdout loads what replaces it.
 */
export async function keepStdoutClosed(): Promise<void> {
  const fdinfo = await Bun.file('/proc/self/fdinfo/1')
    .text()
    .catch(() => '')
  if (!openedHere(fdinfo)) return
  // No FFI or no /dev/null: writes go to /dev/null, as before.
  devNullOnto([1], 'r')
}
