/**
 * The private file each run's code is written to and `source`d from (index.ts). One per shell,
 * rewritten per run, removed with the shell and, for shells never closed, as execd exits.
 */
import {
  chownSync,
  closeSync,
  constants,
  fstatSync,
  ftruncateSync,
  openSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
  writeSync,
} from 'node:fs'
import { basename, dirname, join } from 'node:path'
import { MESSAGE_PIECE, pieceEnd } from '../channel-writes'
import { errnoOf } from '../errors'
import { forgetAtExit, removeAtExit } from '../exit-removals'
import type { OwnedTempDir } from '../temp-dir'
import { nextTurn } from '../timers'

const { O_WRONLY, O_CREAT, O_EXCL, O_NOFOLLOW, O_NONBLOCK } = constants

/**
 * A temp dir that can be made again if something removed it (core/temp-dir.ts). `path` is its
 * name, the one the shell is given; `ensure()` says where execd writes into it now: the name, or
 * a held dir's `/proc/<execd>/fd/<n>/…` (core/held-dir.ts), which no swap at the name redirects.
 */
export interface RemakeableDir {
  readonly path: string
  ensure(): string
  /**
   * The shell reaches the dir where execd writes into it (a child of execd's uid in its mount and
   * PID namespaces, which may open `/proc/<execd>/fd/<n>`): it is given `ensure()`'s path, never
   * the name, which another user may take between execd's write and the shell's read.
   */
  readonly reached?: boolean
}

/** `dir` held open (core/held-dir.ts), for a shell that reaches it through execd's descriptor. */
export const heldByShell = (dir: OwnedTempDir): RemakeableDir => ({
  path: dir.path,
  ensure: () => dir.held().at,
  reached: true,
})

export class CodeFile {
  /** The file as the shell sources it. */
  readonly path: string
  /** The file as execd writes it: `path`, or beneath a held dir's descriptor. */
  private at: string

  /**
   * @param owner the uid the file is made over to (an isolated shell run as another user), who
   *   may own it besides execd
   */
  constructor(
    private readonly dir: string | RemakeableDir,
    nonce: string,
    private readonly owner?: number,
  ) {
    this.path = this.at = join(typeof dir === 'string' ? dir : dir.path, `execd-bash-${nonce}.sh`)
  }

  /** The file as the shell is told to source it: as execd wrote it where the shell reaches that. */
  get sourced(): string {
    return typeof this.dir !== 'string' && this.dir.reached ? this.at : this.path
  }

  /** The dir execd last wrote the file in (its FIFOs are made beside it: command-stream.ts). */
  get writtenIn(): string {
    return dirname(this.at)
  }

  /**
   * Writes the run's code, making the temp dir again if someone removed it. Looked at each run
   * (an lstat): a dir another user put at its name once it was removed took the code, which the
   * shell then sourced from there, theirs to change.
   */
  write(code: string): Promise<void> | undefined {
    if (typeof this.dir !== 'string') {
      const at = join(this.dir.ensure(), basename(this.path))
      if (at !== this.at) forgetAtExit(this.at)
      this.at = at
    }
    removeFileAtExit(this.at)
    const fd = this.openOwn()
    if (code.length > MESSAGE_PIECE) return writeInPieces(fd, code)
    try {
      writeWhole(fd, Buffer.from(code))
    } finally {
      closeSync(fd)
    }
  }

  /**
   * The file, emptied, opened only if it is the one made: a bash context's dir is TMPDIR itself,
   * where anyone may make a name once the file is gone (a `rm -rf /tmp/*`), and the name is in
   * the listing. A link there had the code written through it (into any file of root's), a file
   * of another user's had it sourced from what they could change. Anything else at the name is
   * removed and the file made anew, without following a link (O_EXCL).
   */
  private openOwn(): number {
    try {
      // Non-blocking: a FIFO put at the name held the open (and the event loop) until read.
      const fd = openSync(this.at, O_WRONLY | O_CREAT | O_NOFOLLOW | O_NONBLOCK, 0o600)
      const st = fstatSync(fd)
      if (st.isFile() && st.nlink === 1 && (st.uid === process.getuid?.() || st.uid === this.owner)) {
        ftruncateSync(fd, 0)
        return fd
      }
      closeSync(fd)
    } catch (err) {
      // ELOOP: a link; ENXIO: a FIFO nobody reads. Others (a full disk) are the write's own.
      if (errnoOf(err) !== 'ELOOP' && errnoOf(err) !== 'ENXIO') throw err
    }
    rmSync(this.at, { force: true })
    return openSync(this.at, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0o600)
  }

  /**
   * An interrupt of a run whose line the shell may not have read yet: the INT trap has no sourced
   * file to leave then, and the code ran after it anyway (the grace killed it). With the file
   * replaced first, by a rename, `source` reads either the whole code (and is inside it when the
   * trap runs) or the run's end with the trap's status. Best effort: where it cannot be written,
   * the grace is still there.
   */
  forestall(): void {
    const next = `${this.at}.int`
    try {
      removeFileAtExit(next)
      // Made anew, never through what stands at the name: in TMPDIR anyone could put a link there
      // beforehand (the code file's name is in the listing), and this wrote through it as root
      // and then renamed that link over the code file, which later runs wrote through and sourced.
      rmSync(next, { force: true })
      writeFileSync(next, 'return 130\n', { mode: 0o600, flag: 'wx' })
      // Later runs write this inode: a shell run as another user (isolated, setpriv) must read it.
      const was = statSync(this.at)
      if (was.uid !== process.getuid?.() || was.gid !== process.getgid?.()) chownSync(next, was.uid, was.gid)
      renameSync(next, this.at)
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
    forgetAtExit(this.at)
    try {
      rmSync(this.at, { force: true })
    } catch {}
  }
}

/**
 * The code files (and input FIFOs, command-stream.ts) of shells not closed yet, removed as execd
 * exits (core/exit-removals.ts): a verb ended by a signal (`execd exec bash`, Ctrl-C while its
 * shell started) left the file in TMPDIR for good (the CLI fuzz: 1 in 20 SIGINTs at 50-75 ms).
 */
export const removeFileAtExit = (file: string): void => removeAtExit(file, () => rmSync(file, { force: true }))

const writeWhole = (fd: number, bytes: Uint8Array) => {
  for (let at = 0; at < bytes.length;) at += writeSync(fd, bytes, at)
}

/**
 * A long run's code encoded and written a piece at a time, the event loop let turn between
 * pieces: Buffer.from and the write of a 16 MiB cell held it 80-160 ms in one go.
 */
async function writeInPieces(fd: number, code: string): Promise<void> {
  try {
    for (let at = 0; at < code.length;) {
      const end = pieceEnd(code, at)
      writeWhole(fd, Buffer.from(code.slice(at, end)))
      at = end
      await nextTurn()
    }
  } finally {
    closeSync(fd)
  }
}
