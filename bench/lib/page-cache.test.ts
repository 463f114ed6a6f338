import { expect, test } from 'bun:test'
import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { dropPages, recache } from './page-cache'

/** Bytes of the file in the page cache, from util-linux fincore; undefined without it. */
function cachedBytes(path: string): number | undefined {
  const r = spawnSync('fincore', ['--bytes', '--noheadings', '--output', 'RES', path], { encoding: 'utf8' })
  return r.status === 0 ? Number(r.stdout.trim()) : undefined
}

test('a file just written is dropped from the page cache, then read whole into it again', () => {
  const dir = mkdtempSync(join(tmpdir(), 'execd-bench-pages-'))
  try {
    const path = join(dir, 'file')
    writeFileSync(path, Buffer.alloc(4 << 20, 7))
    expect(dropPages(path)).toBe(true)
    // tmpfs pages are the file itself: nothing to drop there (a CI machine's TMPDIR may be one).
    const onTmpfs = spawnSync('stat', ['-f', '-c', '%T', dir], { encoding: 'utf8' }).stdout.trim() === 'tmpfs'
    const dropped = cachedBytes(path)
    if (dropped !== undefined && !onTmpfs) expect(dropped).toBe(0)
    expect(recache(path)).toBe(true)
    const cached = cachedBytes(path)
    if (cached !== undefined) expect(cached).toBe(4 << 20)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})
