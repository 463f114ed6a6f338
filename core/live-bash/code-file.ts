/**
 * The private file each run's code is written to and `source`d from (index.ts). One per shell,
 * rewritten per run, removed with the shell and, for shells never closed, as execd exits.
 */
import { chownSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

/** A temp dir that can be made again if something removed it (core/temp-dir.ts). */
export interface RemakeableDir {
  readonly path: string
  ensure(): string
}

export class CodeFile {
  readonly path: string

  constructor(
    private readonly dir: string | RemakeableDir,
    nonce: string,
  ) {
    this.path = join(typeof dir === 'string' ? dir : dir.path, `execd-bash-${nonce}.sh`)
  }

  /**
   * Writes the run's code, making the temp dir again if someone removed it. Looked at each run
   * (an lstat): a dir another user put at its name once it was removed took the code, which the
   * shell then sourced from there, theirs to change.
   */
  write(code: string): void {
    removeAtExit(this.path)
    if (typeof this.dir !== 'string') this.dir.ensure()
    writeFileSync(this.path, code, { mode: 0o600 })
  }

  /**
   * An interrupt of a run whose line the shell may not have read yet: the INT trap has no sourced
   * file to leave then, and the code ran after it anyway (the grace killed it). With the file
   * replaced first, by a rename, `source` reads either the whole code (and is inside it when the
   * trap runs) or the run's end with the trap's status. Best effort: where it cannot be written,
   * the grace is still there.
   */
  forestall(): void {
    const next = `${this.path}.int`
    try {
      removeAtExit(next)
      writeFileSync(next, 'return 130\n', { mode: 0o600 })
      // Later runs write this inode: a shell run as another user (isolated, setpriv) must read it.
      const was = statSync(this.path)
      if (was.uid !== process.getuid?.() || was.gid !== process.getgid?.()) chownSync(next, was.uid, was.gid)
      renameSync(next, this.path)
    } catch {
      try {
        rmSync(next, { force: true })
      } catch {}
    }
    forgetAtExit(next)
  }

  /**
   * Best effort: on a temp disk that went read-only the removal threw, failing DELETE with a
   * 500 and, where the shell exited, ending execd (unhandled).
   */
  remove(): void {
    forgetAtExit(this.path)
    try {
      rmSync(this.path, { force: true })
    } catch {}
  }
}

/**
 * The code files (and input FIFOs, command-stream.ts) of shells not closed yet, removed as execd
 * exits: a verb ended by a signal (`execd exec bash`, Ctrl-C while its shell started, or a second
 * one) exits without closing its shell, and left the file in TMPDIR for good (the CLI fuzz: 1 in
 * 20 SIGINTs at 50-75 ms).
 */
const codeFiles = new Set<string>()
let exitHooked = false
export const forgetAtExit = (file: string): void => void codeFiles.delete(file)
export function removeAtExit(file: string): void {
  codeFiles.add(file)
  if (exitHooked) return
  exitHooked = true
  process.on('exit', () => {
    for (const f of codeFiles)
      try {
        rmSync(f, { force: true })
      } catch {}
  })
}
