/**
 * A scratch dir per spec file, with full disks on demand: small tmpfs mounts (root only),
 * unmounted in afterAll whatever the tests did.
 */
import { afterAll, beforeAll } from 'bun:test'
import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

export interface Scratch {
  /** Set before the file's first test. */
  dir: string
  /** A fresh tmpfs of `size` (mount's syntax: 1m) under the scratch dir; `inodes` bounds its entries too. */
  smallDisk(size: string, inodes?: number): string
}

export function scratchWithDisks(name: string): Scratch {
  const mounts: string[] = []
  const scratch: Scratch = {
    dir: '',
    smallDisk(size, inodes) {
      const dir = mkdtempSync(join(scratch.dir, 'disk-'))
      const options = inodes === undefined ? `size=${size}` : `size=${size},nr_inodes=${inodes}`
      const r = spawnSync('mount', ['-t', 'tmpfs', '-o', options, 'tmpfs', dir])
      if (r.status !== 0) throw new Error(`mount failed: ${r.stderr}`)
      mounts.push(dir)
      return dir
    },
  }
  beforeAll(() => {
    scratch.dir = mkdtempSync(join(tmpdir(), `execd-spec-${name}-`))
  })
  afterAll(() => {
    for (const dir of mounts.reverse()) spawnSync('umount', ['-l', dir])
    rmSync(scratch.dir, { recursive: true, force: true })
  })
  return scratch
}
