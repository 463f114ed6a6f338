/**
 * Files execd carries as text (a runtime's driver), put on disk for a child process to run:
 * once per execd process, in a private temp dir (an owned one, core/temp-dir.ts: 0700, a fresh
 * name nobody can pre-plant, locked while execd lives), removed when execd exits, swept by the
 * next execd when this one was killed, written again if a temp cleaner swept them while execd
 * ran for days.
 */
import { existsSync } from 'node:fs'
import { writeFile } from 'node:fs/promises'
import type { HeldDir } from './held-dir'
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
      const held = this.held
      if (dir && held && this.owned?.intact() && Object.keys(this.files).every(name => existsSync(held.beneath(name))))
        return dir
      return this.writeAll()
    })()
    return this.written
  }

  /**
   * The dir as a child of execd's uid in its namespaces reaches it: through execd's descriptor
   * (core/held-dir.ts), so the file it runs is the one written whatever another user put at the
   * dir's name between the write and the child's open.
   */
  async reached(): Promise<string> {
    await this.dir()
    return this.held!.at
  }

  /** Removes the dir now (tests: `bun test` does not emit 'exit'); the next dir() writes it again. */
  async remove(): Promise<void> {
    await this.written?.catch(() => undefined)
    this.owned?.close()
  }

  private owned: OwnedTempDir | undefined
  /** The owned dir as made, held open: where the files are written, and reached. */
  private held: HeldDir | undefined

  private async writeAll(): Promise<string> {
    // Made synchronously and removed at exit from then on (core/exit-removals.ts): made on the
    // thread pool, a dir whose making was under way when execd exited (a context starting during
    // SIGTERM) was left behind. A dir a cleaner swept in part stays (a live child may still read
    // it) until execd exits. Emptied through the dir held open; a temp disk gone read-only leaves
    // it for the next execd's sweep, and execd still exits as it would.
    const owned = new OwnedTempDir(this.prefix, undefined, { removeAtExit: true })
    this.owned = owned
    const dir = owned.ensure()
    const held = owned.held()
    this.held = held
    try {
      for (const [name, text] of Object.entries(this.files)) await writeFile(held.beneath(name), text)
    } catch (err) {
      // A full temp disk: each failed start left its dir (and a cut driver) until the disk was
      // cleaned by hand. Out of fds the removal fails as the write did: the next sweep takes it.
      await owned.closeAsync().catch(() => undefined)
      throw err
    }
    return dir
  }
}
