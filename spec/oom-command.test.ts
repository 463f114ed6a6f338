/**
 * A command the kernel's OOM killer ends says what execd's count proves, after Go's `signal:
 * killed`: a kill in execd's memory cgroups while it ran, not known to be its own (the count is
 * every child's), in its stream's error, its status, foreground or background, and `execd exec
 * --shell`'s last line and exit status; a command `kill -9`ed meanwhile is told the same, not
 * out of memory. Where the cgroup is full of
 * tmpfs files, which no process holds, the words say that too: every command started then is
 * killed, and only deleting files helps. execd runs in a v1 memory cgroup of its own (root, a
 * writable v1 memory hierarchy, a tmpfs /dev/shm: skipped visibly otherwise). `EXECD_BIN` runs
 * another build of the executable.
 */
import { afterAll, expect, test } from 'bun:test'
import { existsSync, rmdirSync, rmSync, writeFileSync } from 'node:fs'
import { entering, inCgroup, procsOf, v1CgroupOrWhy } from './kit/full-cgroup'
import { BIN, canUnshare, type Daemon, postJson, readSse, startDaemon, waitFor } from './harness'
import { PYTHON, pythonAvailable } from './python-env'

const LIMIT = 300 << 20
const cgroup = pythonAvailable === true ? v1CgroupOrWhy('oom-command', LIMIT) : 'no python'
if (typeof cgroup === 'string') console.warn(`skipped: a command the OOM killer ends (${cgroup})`)
afterAll(() => {
  if (typeof cgroup !== 'string') rmdirSync(cgroup.dir)
})
const dir = typeof cgroup === 'string' ? '' : cgroup.dir

/**
 * The children's v1 cgroup counts every command's and interpreter's kills together: a rise proves
 * a kill among them while the command ran, not that it was this one, so said after the status.
 */
const OOM =
  "signal: killed (the kernel's OOM killer killed a process in execd's memory cgroups while this command ran, not known to be this command's)"

/** Anonymous memory past the limit, touched (a bare bytearray(n) is untouched zero pages). */
const HOG_ARGV = [PYTHON, '-c', "b = bytearray(b'x') * (1 << 30)"]
const HOG = `${PYTHON} -c "${HOG_ARGV[2]}"`

async function errorOf(
  d: Daemon,
  command: string,
): Promise<{ ename: string; evalue: string; traceback: string[] } | undefined> {
  const frames = await readSse(await postJson(d, '/command', { command }))
  return frames.find(f => f.data.type === 'error')?.data.error
}

test.skipIf(typeof cgroup === 'string')(
  'foreground and background: the stream and the status say the kill seen, the exit code stays -1',
  async () => {
    await inCgroup(dir, async d => {
      const res = await postJson(d, '/command', { command: HOG })
      const frames = await readSse(res)
      const id = frames.find(f => f.data.type === 'init')?.data.text
      const error = frames.find(f => f.data.type === 'error')?.data.error
      expect(error).toEqual({ ename: 'CommandExecError', evalue: '-1', traceback: [OOM] })
      const status = await (await d.fetch(`/command/status/${id}`)).json()
      expect(status).toMatchObject({ running: false, exit_code: -1, error: OOM })

      const started = await readSse(await postJson(d, '/command', { command: HOG, background: true }))
      const bg = started.find(f => f.data.type === 'init')?.data.text
      let last: Record<string, unknown> = {}
      await waitFor('the background command to end', async () => {
        last = await (await d.fetch(`/command/status/${bg}`)).json()
        return last.running === false
      })
      expect(last).toMatchObject({ exit_code: -1, error: OOM })
    })
  },
  60_000,
)

test.skipIf(typeof cgroup === 'string')(
  "a cgroup full of a tmpfs file: the writer's death and each command killed after it say so and what to delete",
  async () => {
    await inCgroup(dir, async (d, file) => {
      const filler = await errorOf(d, `head -c ${(LIMIT >> 20) + 100}M /dev/zero > ${file}; echo wrote`)
      expect(filler?.traceback[0]).toStartWith(`${OOM}; `)
      expect(filler?.traceback[0]).toContain('are files in a tmpfs')
      expect(filler?.traceback[0]).toContain('delete some')
      // Each command started now finds the cgroup full: those killed say why, none only `signal: killed`.
      const deaths: string[] = []
      for (let i = 0; i < 5; i++) {
        const error = await errorOf(d, 'echo full')
        if (error) deaths.push(error.traceback[0]!)
      }
      for (const words of deaths) expect(words).toStartWith(`${OOM}; `)
      for (const words of deaths) expect(words).toContain('are files in a tmpfs')
      rmSync(file)
      expect(await errorOf(d, 'echo served')).toBeUndefined()
    })
  },
  60_000,
)

test.skipIf(typeof cgroup === 'string')(
  'two commands: one OOM-killed while the other is `kill -9`ed, neither told out of memory, since the count is shared',
  async () => {
    await inCgroup(dir, async (d, file) => {
      // b starts (its count noted) before a's hog is killed, and kills itself after.
      const started = `${file}-started`
      const go = `${file}-go`
      const killed = errorOf(d, `touch ${started}; until [ -e ${go} ]; do sleep 0.02; done; kill -9 $$`)
      await waitFor("b's command to start", () => existsSync(started))
      const hog = await errorOf(d, HOG)
      writeFileSync(go, '')
      // Old build: `signal: killed: out of memory, …`, the kill of a's hog counted for b too.
      expect(await killed).toEqual({ ename: 'CommandExecError', evalue: '-1', traceback: [OOM] })
      expect(hog?.traceback).toEqual([OOM])
    })
  },
  60_000,
)

/** execd where no memory cgroup's count can be read (a tmpfs over /sys/fs/cgroup), only /proc/vmstat's. */
const NO_CGROUPS = ['unshare', '--mount', 'sh', '-c', 'mount -t tmpfs none /sys/fs/cgroup && exec "$@"', 'sh']

test.skipIf(typeof cgroup === 'string' || !canUnshare)(
  "only the machine's count readable: a command `kill -9`ed while a process outside execd is OOM-killed says only its signal",
  async () => {
    const d = await startDaemon({ under: NO_CGROUPS, bin: process.env.EXECD_BIN, env: { EXECD_PYTHON_SPARE: '0' } })
    const file = `${process.env.TMPDIR ?? '/tmp'}/oom-machine-${process.pid}`
    try {
      const killed = errorOf(d, `touch ${file}; until [ ! -e ${file} ]; do sleep 0.02; done; kill -9 $$`)
      await waitFor('the command to start', () => existsSync(file))
      // Not execd's child: a kill /proc/vmstat counts, as another container's would be.
      const hog = Bun.spawn([...entering(dir), ...HOG_ARGV], { stdout: 'ignore', stderr: 'ignore' })
      expect(await hog.exited).toBe(137)
      rmSync(file)
      // Old build: `signal: killed: out of memory, …`, a kill anywhere on the machine counted.
      expect(await killed).toEqual({ ename: 'CommandExecError', evalue: '-1', traceback: ['signal: killed'] })
    } finally {
      rmSync(file, { force: true })
      await d.stop()
      await waitFor('the cgroup to empty', () => procsOf(dir) === '')
    }
  },
  60_000,
)

test.skipIf(typeof cgroup === 'string')(
  '`execd exec --shell`: its last line says the kill seen, its exit status is 128 + 9',
  async () => {
    const bin = process.env.EXECD_BIN ?? BIN
    const p = Bun.spawn([...entering(dir), bin, 'exec', '--python-spare', '0', '--shell', HOG], {
      stdin: 'ignore',
      stdout: 'pipe',
      stderr: 'pipe',
      env: { ...process.env, EXECD_ACCESS_TOKEN: '' },
    })
    const [stderr, code] = await Promise.all([new Response(p.stderr).text(), p.exited])
    await waitFor('the cgroup to empty', () => procsOf(dir) === '')
    expect(stderr.trim().split('\n').at(-1)).toBe(`execd: ${OOM}`)
    expect(code).toBe(137)
  },
  60_000,
)
