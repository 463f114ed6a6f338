/**
 * A command the kernel's OOM killer ends says so, in a cell's words (`signal: killed: out of
 * memory…`, Go's `signal: killed` first): its stream's error, its status, foreground or
 * background, and `execd exec --shell`'s last line and exit status. Where the cgroup is full of
 * tmpfs files, which no process holds, the words say that too: every command started then is
 * killed, and only deleting files helps. execd runs in a v1 memory cgroup of its own (root, a
 * writable v1 memory hierarchy, a tmpfs /dev/shm: skipped visibly otherwise). `EXECD_BIN` runs
 * another build of the executable.
 */
import { afterAll, expect, test } from 'bun:test'
import { rmdirSync, rmSync } from 'node:fs'
import { entering, inCgroup, procsOf, v1CgroupOrWhy } from './kit/full-cgroup'
import { BIN, type Daemon, postJson, readSse, waitFor } from './harness'
import { PYTHON, pythonAvailable } from './python-env'

const LIMIT = 300 << 20
const cgroup = pythonAvailable === true ? v1CgroupOrWhy('oom-command', LIMIT) : 'no python'
if (typeof cgroup === 'string') console.warn(`skipped: a command the OOM killer ends (${cgroup})`)
afterAll(() => {
  if (typeof cgroup !== 'string') rmdirSync(cgroup.dir)
})
const dir = typeof cgroup === 'string' ? '' : cgroup.dir

const OOM = 'signal: killed: out of memory, a memory limit was reached'
/** Anonymous memory past the limit, touched (a bare bytearray(n) is untouched zero pages). */
const HOG = `${PYTHON} -c "b = bytearray(b'x') * (1 << 30)"`

async function errorOf(d: Daemon, command: string): Promise<{ evalue: string; traceback: string[] } | undefined> {
  const frames = await readSse(await postJson(d, '/command', { command }))
  return frames.find(f => f.data.type === 'error')?.data.error
}

test.skipIf(typeof cgroup === 'string')(
  'foreground and background: the stream and the status say out of memory, the exit code stays -1',
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
      for (const words of deaths) expect(words).toMatch(/^signal: killed: out of memory.*are files in a tmpfs/)
      rmSync(file)
      expect(await errorOf(d, 'echo served')).toBeUndefined()
    })
  },
  60_000,
)

test.skipIf(typeof cgroup === 'string')(
  '`execd exec --shell`: its last line says out of memory, its exit status is 128 + 9',
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
