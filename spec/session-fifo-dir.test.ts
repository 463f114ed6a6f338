/**
 * Where a session's input FIFOs live (core/live-bash/fifo-dir.ts): one is made and removed each
 * run, and on ext4 the mkfifo alone was ~88 µs, a third of a run's CPU in execd. On /dev/shm (a
 * tmpfs) in a private dir of the daemon's, every name removed once the shell holds it, the dir
 * with the daemon, and one a killed daemon left swept by the next.
 */
import { expect, test } from 'bun:test'
import { existsSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { postJson, readSse, startDaemon, waitFor, type Daemon, type SseFrame } from './harness'
import { daemonAlone } from './kit/daemon-dir'
import { SHM, shmDirsOf, shmIsTmpfs } from './kit/shm'

const ownDirs = (pid: number) => shmDirsOf('execd-session-fifos', pid)

const fx = daemonAlone()

const create = async (daemon: Daemon) => {
  const res = await postJson(daemon, '/session', {})
  expect(res.status).toBe(200)
  return (await res.json()).session_id as string
}
const run = async (daemon: Daemon, sid: string, command: string) =>
  readSse(await postJson(daemon, `/session/${sid}/run`, { command }))
const stdout = (frames: SseFrame[]) =>
  frames
    .filter(f => f.data.type === 'stdout')
    .map(f => f.data.text)
    .join('\n')

test.skipIf(!shmIsTmpfs)('the shell reads its lines from a FIFO on /dev/shm whose name is gone', async () => {
  const sid = await create(fx.d)
  for (let i = 0; i < 3; i++) expect((await run(fx.d, sid, ':')).at(-1)?.data.type).toBe('execution_complete')
  // The shell's own descriptors: its input is kept on one of 10 and above while the code runs.
  const links = stdout(await run(fx.d, sid, 'for f in /proc/$$/fd/*; do readlink "$f"; done'))
  const inputs = links.split('\n').filter(l => l.includes('execd-bash-'))
  // Old build: `<TMPDIR>/execd-sessions-<pid>-…/execd-bash-<nonce>-in4 (deleted)`.
  expect(inputs).toHaveLength(1)
  expect(inputs[0]).toMatch(
    new RegExp(`^${SHM}/execd-session-fifos-${fx.d.proc.pid}-[^/]+/execd-bash-\\w+-in\\d+ \\(deleted\\)$`),
  )
  // Between runs the dir holds its lock and no FIFO: each run's name was removed.
  const [dir] = ownDirs(fx.d.proc.pid)
  expect(readdirSync(join(SHM, dir!))).toEqual(['.owner.sock'])
})

test.skipIf(!shmIsTmpfs)('a run that removes the dir: the next runs run, and the dir is made again', async () => {
  const sid = await create(fx.d)
  const rm = await run(fx.d, sid, `rm -rf ${SHM}/execd-session-fifos-${fx.d.proc.pid}-*`)
  expect(rm.at(-1)?.data.type).toBe('execution_complete')
  expect(ownDirs(fx.d.proc.pid)).toEqual([])
  // The FIFO its own line named went too (the shell stayed on its input); the next run's FIFO
  // could not be made in the dir, which is then made again.
  for (const word of ['one', 'two', 'three']) expect(stdout(await run(fx.d, sid, `echo ${word}`))).toBe(word)
  const links = stdout(await run(fx.d, sid, 'for f in /proc/$$/fd/*; do readlink "$f"; done'))
  expect(links).toMatch(
    new RegExp(`^${SHM}/execd-session-fifos-${fx.d.proc.pid}-[^/]+/execd-bash-\\w+-in\\d+ \\(deleted\\)$`, 'm'),
  )
  expect(ownDirs(fx.d.proc.pid)).toHaveLength(1)
})

test.skipIf(!shmIsTmpfs)('the dir goes with its daemon, and a killed daemon’s is swept by the next', async () => {
  const killed = await startDaemon()
  const other = await startDaemon()
  try {
    await create(killed)
    expect(ownDirs(killed.proc.pid)).toHaveLength(1)
    killed.proc.kill('SIGKILL')
    await killed.proc.exited
    expect(ownDirs(killed.proc.pid)).toHaveLength(1)
    // The next daemon's first session makes its own dir and sweeps the one no daemon holds.
    const sid = await create(other)
    expect(stdout(await run(other, sid, 'echo ok'))).toBe('ok')
    await waitFor('the stale dir to be swept', () => ownDirs(killed.proc.pid).length === 0)
    expect(ownDirs(other.proc.pid)).toHaveLength(1)
  } finally {
    await killed.stop().catch(() => {})
    await other.stop()
  }
  expect(existsSync(SHM) && ownDirs(other.proc.pid)).toEqual([])
})
