/**
 * Files execd carries as text (a runtime's driver), put on disk for a child process to run:
 * once per execd process, in a private temp dir (mkdtemp: 0700, a fresh name nobody can
 * pre-plant), removed when execd exits, written again if a temp cleaner swept them while execd
 * ran for days.
 */
import { existsSync, rmSync } from 'node:fs'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
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
    const dir = await mkdtemp(join(tmpdir(), this.prefix))
    try {
      for (const [name, text] of Object.entries(this.files)) await writeFile(join(dir, name), text)
    } catch (err) {
      // A full temp disk: each failed start left its dir (and a cut driver) until the disk was
      // cleaned by hand, since only a written dir is removed at exit.
      await rm(dir, { recursive: true, force: true }).catch(() => {})
      throw err
    }
    process.once('exit', () => {
      // A temp disk gone read-only: the dir stays, and execd still exits as it would (the throw
      // made a SIGTERM'd execd exit 1 with a stack trace).
      try {
        rmSync(dir, { recursive: true, force: true })
      } catch {}
    })
    return dir
  }
}
