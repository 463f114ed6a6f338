/**
 * Files execd carries as text (a runtime's driver), put on disk for a child process to run:
 * once per execd process, in a private temp dir (mkdtemp: 0700, a fresh name nobody can
 * pre-plant), removed when execd exits, written again if a temp cleaner swept them while execd
 * ran for days.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

export class PrivateFiles {
  private written: Promise<string> | undefined

  /** `files`: name → text, all in one dir named `prefix` + a random suffix. */
  constructor(
    private readonly prefix: string,
    private readonly files: Readonly<Record<string, string>>,
  ) {}

  /** The dir holding every file. Chained, so concurrent starts share one; a failed write is tried again. */
  dir(): Promise<string> {
    const previous = this.written
    this.written = (async () => {
      const dir = await previous?.catch(() => undefined)
      if (dir && Object.keys(this.files).every(name => existsSync(join(dir, name)))) return dir
      return this.writeAll()
    })()
    return this.written
  }

  /** Removes the dir now (tests: `bun test` does not emit 'exit'); the next dir() writes it again. */
  async remove(): Promise<void> {
    const dir = await this.written?.catch(() => undefined)
    if (dir) rmSync(dir, { recursive: true, force: true })
  }

  private async writeAll(): Promise<string> {
    // Made synchronously and given its exit hook at once: made on the thread pool, a dir whose
    // making was under way when execd exited (a context starting during SIGTERM) was left behind.
    const dir = mkdtempSync(join(tmpdir(), this.prefix))
    const removeAtExit = () => {
      // A temp disk gone read-only: the dir stays, and execd still exits as it would (the throw
      // made a SIGTERM'd execd exit 1 with a stack trace).
      try {
        rmSync(dir, { recursive: true, force: true })
      } catch {}
    }
    process.once('exit', removeAtExit)
    try {
      for (const [name, text] of Object.entries(this.files)) await writeFile(join(dir, name), text)
    } catch (err) {
      // A full temp disk: each failed start left its dir (and a cut driver) until the disk was
      // cleaned by hand. Out of fds the removal fails as the write did: the exit hook stays then.
      const removed = await rm(dir, { recursive: true, force: true }).then(
        () => true,
        () => false,
      )
      if (removed) process.off('exit', removeAtExit)
      throw err
    }
    return dir
  }
}
