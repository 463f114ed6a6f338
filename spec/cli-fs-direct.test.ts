/**
 * `execd fs` without --url calls the files section's operations itself: what the route holds them
 * to, the direct path must too. `fs replace` on this machine grew a file past --max-replace-growth
 * (the route's 413, nothing written), and Ctrl-C did not reach its rewrite: the file was
 * replaced after the stop anyway, or execd exited at its deadline with the half-written temp
 * file left beside it. `fs mv` to another filesystem (a copy) went on after Ctrl-C and exited 0,
 * moved; one longer than the stop's grace would have left its staged copy at the destination.
 * `fs put` here wrote past --max-upload-bytes (the route's 413).
 */
import { expect, test } from 'bun:test'
import {
  closeSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { runCli, spawnCli, waitFor } from './harness'
import { daemonWithDir } from './kit/daemon-dir'

// No daemon: the verbs run the operations themselves; only the temp dir, made and removed by the kit.
const fx = daemonWithDir('cli-fs-direct', () => null)

const firstBytes = (path: string, n: number): string => {
  const fd = openSync(path, 'r')
  try {
    const buf = Buffer.alloc(n)
    return buf.subarray(0, readSync(fd, buf, 0, n, 0)).toString()
  } finally {
    closeSync(fd)
  }
}

test('a local replace is held to --max-replace-growth as the route is: exit 1, nothing written', async () => {
  const path = join(fx.tmp, 'grow.txt')
  writeFileSync(path, 'a'.repeat(100))
  const r = await runCli(['fs', 'replace', path, 'a', 'bb'], { env: { EXECD_MAX_REPLACE_GROWTH: '50' } })
  expect(r.code).toBe(1)
  expect(r.stderr).toContain('--max-replace-growth')
  expect(r.stderr).toContain('nothing was written')
  expect(readFileSync(path, 'utf8')).toBe('a'.repeat(100))
  // Within the limit it is written.
  const ok = await runCli(['fs', 'replace', path, 'a', 'bb'], { env: { EXECD_MAX_REPLACE_GROWTH: '100' } })
  expect(ok.code).toBe(0)
  expect(readFileSync(path, 'utf8')).toBe('bb'.repeat(100))
})

test('a local put is held to --max-upload-bytes as the route is: exit 1, nothing written', async () => {
  const sub = mkdtempSync(join(fx.tmp, 'put-'))
  writeFileSync(join(sub, 'src'), Buffer.alloc(1000, 'a'))
  const r = await runCli(['fs', 'put', join(sub, 'src'), join(sub, 'dst')], { env: { EXECD_MAX_UPLOAD_BYTES: '100' } })
  // On a build that did not pass the limit: exit 0 and the 1,000 bytes written.
  expect(r.code).toBe(1)
  expect(r.stderr).toContain('upload exceeds the limit of 100 bytes')
  expect(readdirSync(sub)).toEqual(['src'])
  const ok = await runCli(['fs', 'put', join(sub, 'src'), join(sub, 'dst')], {
    env: { EXECD_MAX_UPLOAD_BYTES: '1000' },
  })
  expect(ok.code).toBe(0)
  expect(statSync(join(sub, 'dst')).size).toBe(1000)
})

test('Ctrl-C of a local put from a FIFO nobody writes: 130, nothing at the destination', async () => {
  const sub = mkdtempSync(join(fx.tmp, 'fifo-'))
  expect(Bun.spawnSync(['mkfifo', join(sub, 'p')]).exitCode).toBe(0)
  const p = spawnCli(['fs', 'put', join(sub, 'p'), join(sub, 'out')])
  // Its open of the FIFO waits in the thread pool, out of any signal's reach: it answered
  // Ctrl-C only at the stop's deadline (3 s), now at once. Only the time differs, and it is not
  // asserted here (bench/README.md: no timed assertions); the outcome is.
  // A moment to reach the open (a Ctrl-C before it stops the put all the same).
  await Bun.sleep(300)
  p.kill('SIGINT')
  expect(await p.exited).toBe(130)
  expect(readdirSync(sub)).toEqual(['p'])
  rmSync(sub, { recursive: true, force: true })
})

test('Ctrl-C during a local replace stops its rewrite: 130, the file as it was, no temp file beside it', async () => {
  const sub = mkdtempSync(join(fx.tmp, 'stop-'))
  const path = join(sub, 'big.txt')
  // Large enough that the rewrite is still running when its temp file is seen.
  writeFileSync(path, Buffer.alloc(512 * 1024 * 1024, 'a'))
  const p = spawnCli(['fs', 'replace', path, 'a', 'b'])
  await waitFor('the temp file of the rewrite', () => readdirSync(sub).length > 1)
  p.kill('SIGINT')
  expect(await p.exited).toBe(130)
  expect(readdirSync(sub)).toEqual(['big.txt'])
  expect(firstBytes(path, 4)).toBe('aaaa')
  rmSync(sub, { recursive: true, force: true })
}, 60_000)

const otherDevice = existsSync('/dev/shm') && statSync('/dev/shm').dev !== statSync(tmpdir()).dev

test.skipIf(!otherDevice)(
  'Ctrl-C during a local move to another filesystem stops its copy: 130, the source whole, nothing at the destination',
  async () => {
    const src = mkdtempSync(join(fx.tmp, 'mv-'))
    mkdirSync(join(src, 'tree'))
    const size = 768 * 1024 * 1024
    // Large enough that the copy is still running when its staged copy is seen.
    writeFileSync(join(src, 'tree', 'big'), Buffer.alloc(size, 'a'))
    const shm = mkdtempSync('/dev/shm/execd-spec-cli-mv-')
    try {
      const p = spawnCli(['fs', 'mv', join(src, 'tree'), join(shm, 'moved')])
      await waitFor('the staged copy at the destination', () => readdirSync(shm).length > 0)
      p.kill('SIGINT')
      expect(await p.exited).toBe(130)
      expect(readdirSync(shm)).toEqual([])
      expect(statSync(join(src, 'tree', 'big')).size).toBe(size)
    } finally {
      rmSync(shm, { recursive: true, force: true })
      rmSync(src, { recursive: true, force: true })
    }
  },
  60_000,
)
