/**
 * Private temp dirs named after the execd process that owns them (`<prefix>-<pid>-XXXXXX`).
 * Removed on close as usual; a dir left by an execd that was killed (SIGKILL, OOM) is removed
 * the next time any execd makes one with the same prefix, so temp files never pile up.
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

export function ownedTempDir(prefix: string, root = tmpdir()): string {
  sweepStale(prefix, root)
  return mkdtempSync(join(root, `${prefix}-${process.pid}-`))
}

function sweepStale(prefix: string, root: string): void {
  let names: string[] = []
  try {
    names = readdirSync(root)
  } catch {
    return
  }
  const pattern = new RegExp(`^${prefix.replace(/[^\w-]/g, '\\$&')}-(\\d+)-[^/]+$`)
  for (const name of names) {
    const pid = Number(pattern.exec(name)?.[1])
    if (!pid || pid === process.pid || running(pid)) continue
    rmSync(join(root, name), { recursive: true, force: true })
  }
}

function running(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM'
  }
}
