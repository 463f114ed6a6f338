/**
 * A directory of execd's own, held open, reached through its descriptor rather than its name.
 * Its name is in the listing of a shared TMPDIR: once something removes it (a temp cleaner, a
 * root command's `rm -rf /tmp/*`) another user may make a dir or a link of theirs there, and a
 * look at the name before each write leaves the moment between the look and the write. What
 * execd makes, writes or reads beneath `at` (`/proc/<execd>/fd/<n>/…`) is in the directory it
 * opened whatever stands at the name by then: the kernel never looks the name up again. The
 * pid, not `self`: a child execd hands such a path (bwrap, `diff`) resolves it through execd's
 * descriptor, which it does not inherit. `intact()` remains, to say what happened.
 */
import {
  closeSync,
  constants,
  fstatSync,
  lstatSync,
  openSync,
  readdirSync,
  rmdirSync,
  rmSync,
  statSync,
  type Stats,
} from 'node:fs'
import { readdir, rm, rmdir } from 'node:fs/promises'

const { O_RDONLY, O_DIRECTORY, O_NOFOLLOW } = constants

export class HeldDir {
  private fd: number | undefined
  private readonly held: Stats
  private readonly reached: string

  /**
   * Opens `openAt` without following a link at its last component, and keeps it only if it is a
   * directory of this user's with no group or other bits. `path` is the name it goes by, where
   * it is opened under another (a staging name, renamed once locked).
   */
  constructor(
    openAt: string,
    readonly path = openAt,
  ) {
    const fd = openSync(openAt, O_RDONLY | O_DIRECTORY | O_NOFOLLOW)
    try {
      const st = fstatSync(fd)
      const uid = process.getuid?.()
      const why =
        (uid !== undefined && st.uid !== uid && `it is uid ${st.uid}'s`) ||
        ((st.mode & 0o077) !== 0 && `its mode is ${(st.mode & 0o777).toString(8)}`)
      if (why) throw new Error(`${openAt} is not a private directory of execd's: ${why}`)
      this.held = st
    } catch (err) {
      closeSync(fd)
      throw err
    }
    this.fd = fd
    this.reached = `/proc/${process.pid}/fd/${fd}`
    // A /proc of another PID namespace (the host's, bound into a container) names another process.
    const seen = statSync(this.reached, { throwIfNoEntry: false })
    if (seen?.dev !== this.held.dev || seen.ino !== this.held.ino) {
      this.close()
      throw new Error(`${this.reached} does not lead to ${openAt}: /proc is not of execd's PID namespace`)
    }
  }

  /**
   * Where the held directory is reached. Refused once let go: its descriptor's number is given to
   * the next file execd opens, and a path through it would lead there.
   */
  get at(): string {
    if (this.fd === undefined) throw new Error(`${this.path} is no longer held`)
    return this.reached
  }

  /** `name` beneath the held directory. */
  beneath(...names: string[]): string {
    return [this.at, ...names].join('/')
  }

  /**
   * Whether the entry at the name is still the directory held (same device and inode, this
   * user's): not the guard of a write (`at` is), but what a caller says when it is not.
   */
  intact(): boolean {
    if (this.fd === undefined) return false
    try {
      const st = lstatSync(this.path)
      const uid = process.getuid?.()
      return (
        st.isDirectory() &&
        st.dev === this.held.dev &&
        st.ino === this.held.ino &&
        (uid === undefined || st.uid === uid)
      )
    } catch {
      return false
    }
  }

  /**
   * Empties the held directory through its descriptor, then removes its name only where the
   * name is still this directory's, and lets it go: another's dir at the name is theirs. Throws
   * what the emptying met (out of fds, a read-only disk): a caller may keep its exit hook then.
   */
  async remove(): Promise<void> {
    if (this.fd === undefined) return
    try {
      await inPasses(() => this.emptyAndRemove())
    } finally {
      this.close()
    }
  }

  /** remove(), on the event loop: for an exit hook, which cannot await. */
  removeSync(): void {
    if (this.fd === undefined) return
    try {
      inPasses(() => this.emptyAndRemoveSync())
    } finally {
      this.close()
    }
  }

  private async emptyAndRemove(): Promise<void> {
    const at = this.at
    // A held dir already removed has no entries (its open by /proc answers ENOENT).
    const names = await readdir(at).catch(err => (gone(err), [] as string[]))
    await Promise.all(names.map(name => rm(`${at}/${name}`, { recursive: true, force: true })))
    // Not recursive: were the name swapped since the look, nothing of theirs is walked.
    if (this.intact()) await rmdir(this.path).catch(gone)
  }

  private emptyAndRemoveSync(): void {
    const at = this.at
    for (const name of namesOf(at)) rmSync(`${at}/${name}`, { recursive: true, force: true })
    if (!this.intact()) return
    try {
      rmdirSync(this.path)
    } catch (err) {
      gone(err)
    }
  }

  /** Lets the directory go. Idempotent. */
  close(): void {
    if (this.fd === undefined) return
    const fd = this.fd
    this.fd = undefined
    try {
      closeSync(fd)
    } catch {}
  }
}

/** Passes of a removal over entries that keep coming before it gives up. */
const REMOVE_PASSES = 5

/**
 * Runs a pass of emptying and removing, and again on ENOTEMPTY, REMOVE_PASSES times at most;
 * `pass`'s result, awaited when it is a promise (remove()), or not (removeSync()). An entry made
 * after the look (an isolated session's files request still writing as its DELETE came: 1 DELETE
 * in ~600 answered a 500 `ENOTEMPTY`; a session's process writing as an exit hook runs) is
 * emptied again; a writer that outlasts them all is the caller's error still.
 */
function inPasses<T extends void | Promise<void>>(pass: () => T, done = 1): T {
  const again = (err: unknown): T => {
    if ((err as NodeJS.ErrnoException).code !== 'ENOTEMPTY' || done >= REMOVE_PASSES) throw err
    return inPasses(pass, done + 1)
  }
  try {
    const result = pass()
    return (result instanceof Promise ? result.catch(again) : result) as T
  } catch (err) {
    return again(err)
  }
}

/** Swallows ENOENT (removed meanwhile: what was asked); throws anything else. */
function gone(err: unknown): void {
  if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
}

function namesOf(at: string): string[] {
  try {
    return readdirSync(at)
  } catch (err) {
    gone(err)
    return []
  }
}
