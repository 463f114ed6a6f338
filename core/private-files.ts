/**
 * Files execd carries as text (a runtime's driver), put on disk for a child process to run:
 * once per execd process, in a private temp dir (an owned one, core/temp-dir.ts: 0700, a fresh
 * name nobody can pre-plant, locked while execd lives), removed when execd exits, swept by the
 * next execd when this one was killed, written again if a temp cleaner swept them while execd
 * ran for days.
 */
import { existsSync } from 'node:fs'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { OwnedTempDir } from './temp-dir'

export class PrivateFiles {
  private written: Promise<string> | undefined

  /** `files`: name → text, all in one dir named `prefix-<pid>-` + a random suffix. */
  constructor(
    private readonly prefix: string,
    private readonly files: Readonly<Record<string, string>>,
  ) {}

  /** The dir holding every file. Chained, so concurrent starts share one; a failed write is tried again. */
  dir(): Promise<string> {
    const previous = this.written
    this.written = (async () => {
      const dir = await previous?.catch(() => undefined)
      // The dir itself first: a name in a dir another user put at its path is theirs to write.
      if (dir && this.owned?.intact() && Object.keys(this.files).every(name => existsSync(join(dir, name)))) return dir
      return this.writeAll()
    })()
    return this.written
  }

  /** Removes the dir now (tests: `bun test` does not emit 'exit'); the next dir() writes it again. */
  async remove(): Promise<void> {
    await this.written?.catch(() => undefined)
    this.owned?.close()
  }

  private owned: OwnedTempDir | undefined

  private async writeAll(): Promise<string> {
    // Made synchronously and given its exit hook at once: made on the thread pool, a dir whose
    // making was under way when execd exited (a context starting during SIGTERM) was left behind.
    // A dir a cleaner swept in part stays (a live child may still read it) until execd exits.
    const owned = new OwnedTempDir(this.prefix)
    this.owned = owned
    const dir = owned.ensure()
    const removeAtExit = () => {
      // A temp disk gone read-only: the dir stays, and execd still exits as it would (the throw
      // made a SIGTERM'd execd exit 1 with a stack trace). Emptied through the dir held open, its
      // name removed only while still this dir's: once closeAsync below failed (its lock let go),
      // nothing is removed by name, and the next execd's sweep takes the dir.
      try {
        owned.close()
      } catch {}
    }
    process.once('exit', removeAtExit)
    try {
      for (const [name, text] of Object.entries(this.files)) await writeFile(join(dir, name), text)
    } catch (err) {
      // A full temp disk: each failed start left its dir (and a cut driver) until the disk was
      // cleaned by hand. Out of fds the removal fails as the write did: the exit hook stays then.
      const removed = await owned.closeAsync().then(
        () => true,
        () => false,
      )
      if (removed) process.off('exit', removeAtExit)
      throw err
    }
    return dir
  }
}
