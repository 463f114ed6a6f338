/**
 * `serve -- <command>`: the jobs the main process leaves behind share execd's process group
 * (the main process stays in it, for its terminal). Orphaned, they are re-parented to execd
 * (PID 1, or its children's subreaper), and their zombies must be reaped like any other
 * orphan's, without holding up the reaping of the rest.
 */
import { expect, test } from 'bun:test'
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { readStat } from '../core/procfs'
import { NEW_PID_NAMESPACE, serveArgv, canUnshare, childrenOf, freePort, waitFor } from './harness'

/**
 * A main process that waits for `go`, then leaves three short jobs behind (each subshell exits
 * at once, its `sleep` orphaned in the main's group and re-parented before the subshell is
 * waited for), says so in `left`, and stays.
 */
const leavesJobs = (dir: string) =>
  `while [ ! -e ${dir}/go ]; do sleep 0.05; done; for i in 1 2 3; do sh -c 'sleep 0.1 & exit 0'; done; : > ${dir}/left; exec sleep 1000`

/** The short jobs among the children of `pid`, running or not yet reaped. */
const jobsOf = (pid: number) =>
  childrenOf(pid).filter(c => {
    if (c.state === 'Z') return true
    try {
      return readFileSync(`/proc/${c.pid}/cmdline`, 'latin1') === 'sleep\x000.1\x00'
    } catch {
      return false
    }
  })

async function ping(url: string): Promise<void> {
  await waitFor('execd to answer /ping', () =>
    fetch(`${url}/ping`).then(
      r => r.status === 200,
      () => false,
    ),
  )
}

/** A command's own orphan (another process group), left once the main's jobs are zombies. */
async function commandOrphan(url: string): Promise<void> {
  const res = await fetch(`${url}/command`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ command: "sh -c 'sleep 0.1 & exit 0'" }),
  })
  expect(res.status).toBe(200)
  await res.text()
}

test('as the subreaper, the zombies of the main process’s orphaned jobs are reaped, and the others after them', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'execd-orphans-'))
  const port = await freePort()
  const proc = Bun.spawn([...serveArgv(port), '--', 'sh', '-c', leavesJobs(dir)], {
    stdout: 'ignore',
    stderr: 'pipe',
    env: { ...process.env, EXECD_ACCESS_TOKEN: '' },
  })
  try {
    const url = `http://127.0.0.1:${port}`
    await ping(url)
    // A command makes execd the subreaper (it is, before its first owned child).
    await commandOrphan(url)
    writeFileSync(join(dir, 'go'), '')
    // Three jobs re-parented to execd and ended: zombies until reaped.
    await waitFor('the jobs to be left', () => existsSync(join(dir, 'left')))
    await commandOrphan(url)
    // Reaped, each is gone from /proc; a zombie stays there for good (it did: all four).
    await waitFor('the orphaned jobs to be reaped', () => jobsOf(proc.pid).length === 0)
  } finally {
    proc.kill('SIGTERM')
    expect(await proc.exited).toBe(128 + 15)
    rmSync(dir, { recursive: true, force: true })
  }
})

test.skipIf(!canUnshare)(
  'as PID 1 and its own process group, as in a container: the same (root, unshare)',
  async () => {
    const dir = mkdtempSync(join(tmpdir(), 'execd-orphans-'))
    const port = await freePort()
    // setsid: execd leads its session and group, as a container's init does (getpgid is 1 inside).
    const outer = Bun.spawn([...NEW_PID_NAMESPACE, 'setsid', ...serveArgv(port), '--', 'sh', '-c', leavesJobs(dir)], {
      stdout: 'ignore',
      stderr: 'pipe',
      env: { ...process.env, EXECD_ACCESS_TOKEN: '' },
    })
    let execd = 0
    try {
      const url = `http://127.0.0.1:${port}`
      await ping(url)
      execd = childrenOf(outer.pid)[0]?.pid ?? 0
      expect(execd).toBeGreaterThan(0)
      expect(readStat(String(execd))?.pgid).toBe(execd)
      writeFileSync(join(dir, 'go'), '')
      await waitFor('the jobs to be left', () => existsSync(join(dir, 'left')))
      await commandOrphan(url)
      await waitFor('the orphaned jobs to be reaped', () => jobsOf(execd).length === 0)
    } finally {
      if (execd) process.kill(execd, 'SIGTERM')
      else outer.kill('SIGKILL')
      await outer.exited
      rmSync(dir, { recursive: true, force: true })
    }
    expect(await new Response(outer.stderr).text()).toContain('reaping orphaned processes')
  },
)
