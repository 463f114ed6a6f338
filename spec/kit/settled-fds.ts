/**
 * The descriptors a daemon holds once what its start opens after listening is open. A spec that
 * sets the daemon's fd limit a few above its count must count after that: Bun's HTTP client makes
 * its event loop (an eventpoll and an eventfd) on its own thread, and the log's writer dups stderr
 * at the first line, both possibly after /ping answers. Counted before, at load 10–28 they took
 * the spare descriptors the spec had left, and execd then closed its kept-alive connection as idle
 * (core/idle-reclaim.ts) as the spec sent on it: ECONNRESET, 5 runs in 15.
 */
import { readdirSync, readlinkSync } from 'node:fs'
import { type Daemon, waitFor } from '../harness'

export async function settledFds(d: Daemon): Promise<number> {
  const dir = `/proc/${d.proc.pid}/fd`
  const links = () =>
    readdirSync(dir).map(fd => {
      try {
        return readlinkSync(`${dir}/${fd}`)
      } catch {
        return ''
      }
    })
  await waitFor(
    "the daemon's first log line and its HTTP client's loop",
    () => d.logs().includes('"execd listening"') && links().filter(l => l === 'anon_inode:[eventpoll]').length >= 2,
  )
  return links().length
}
