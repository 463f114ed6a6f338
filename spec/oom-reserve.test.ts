/**
 * execd in a full memory cgroup. A command that writes past the limit into a tmpfs is killed, but
 * its file stays, as memory that is no process's: execd, the one process left, was killed next
 * (core/memory-reserve.ts). Its children now have a cgroup of their own below execd's, limited
 * to execd's limit less a reserve. Needs root, a writable v1 memory hierarchy and a tmpfs
 * /dev/shm: skipped visibly otherwise. `EXECD_BIN` runs another build of the executable.
 */
import { afterAll, expect, test } from 'bun:test'
import { readdirSync, readFileSync, rmdirSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { memoryCgroup } from './kit/memory-cgroup'
import { type Daemon, postJson, readSse, startDaemon, waitFor } from './harness'

const LIMIT = 300 << 20
const shmIsTmpfs = / \/dev\/shm tmpfs /.test(readFileSync('/proc/mounts', 'latin1'))

function cgroupOrWhy(): { dir: string; version: 1 | 2 } | string {
  if (process.getuid?.() !== 0) return 'needs root'
  if (!shmIsTmpfs) return '/dev/shm is not a tmpfs'
  const cg = memoryCgroup('reserve', LIMIT)
  // v2 cannot hand execd's memory down to a cgroup of its children while execd is in it.
  if (typeof cg === 'string' || cg.version === 1) return cg
  rmdirSync(cg.dir)
  return 'the memory controller is v2 here'
}
const cgroup = cgroupOrWhy()
if (typeof cgroup === 'string') console.warn(`skipped: execd in a full memory cgroup (${cgroup})`)
afterAll(() => {
  if (typeof cgroup !== 'string') rmdirSync(cgroup.dir)
})

const procsOf = (dir: string) => readFileSync(join(dir, 'cgroup.procs'), 'latin1').trim()

/** execd started inside the limited cgroup (the same pid), `body` run against it, every trace of it gone after. */
async function inFullCgroup(body: (d: Daemon, file: string) => Promise<void>): Promise<void> {
  const cg = cgroup as { dir: string }
  const file = `/dev/shm/execd-spec-reserve-${process.pid}-${crypto.randomUUID().slice(0, 8)}`
  const d = await startDaemon({
    under: ['sh', '-c', `echo $$ > ${cg.dir}/cgroup.procs && exec "$@"`, 'sh'],
    bin: process.env.EXECD_BIN,
    env: { EXECD_PYTHON_SPARE: '0' },
  })
  try {
    await body(d, file)
  } catch (err) {
    const events = readFileSync(join(cg.dir, 'memory.oom_control'), 'latin1').replaceAll('\n', ', ')
    console.error(`execd exit ${d.proc.exitCode} signal ${d.proc.signalCode}; ${events}\n${d.logs().slice(-3000)}`)
    throw err
  } finally {
    for (const name of readdirSync('/dev/shm')) if (`/dev/shm/${name}`.startsWith(file)) rmSync(`/dev/shm/${name}`)
    if (d.proc.exitCode === null && d.proc.signalCode === null) await d.stop()
    await waitFor('the cgroup to empty', () => procsOf(cg.dir) === '')
  }
}

/** The command's frames' types and texts, one string. */
async function run(d: Daemon, command: string): Promise<string> {
  const frames = await readSse(await postJson(d, '/command', { command }))
  return frames.map(f => `${f.data.type}:${f.data.text ?? JSON.stringify(f.data.error ?? '')}`).join('\n')
}

test.skipIf(typeof cgroup === 'string')(
  'a command that fills its memory cgroup with a tmpfs file is killed; execd serves on, and once the file is gone, commands run again',
  async () => {
    await inFullCgroup(async (d, file) => {
      const filled = await run(d, `head -c ${(LIMIT >> 20) + 100}M /dev/zero > ${file}; echo wrote`)
      expect(filled).toContain('signal: killed')
      expect(filled).not.toContain('wrote')
      // The file holds what its writer was killed for; each command started now finds the cgroup
      // full. Before, execd was killed here (5 tries of 5), the only process left to take.
      for (let i = 0; i < 10; i++) await run(d, 'echo full').catch(() => '')
      expect(d.proc.signalCode).toBeNull()
      expect((await d.fetch('/ping')).status).toBe(200)
      rmSync(file)
      expect(await run(d, 'echo served')).toContain('stdout:served')
    })
  },
  60_000,
)

test.skipIf(typeof cgroup === 'string')(
  'four such commands at once: execd serves on',
  async () => {
    await inFullCgroup(async (d, file) => {
      const each = Math.ceil((LIMIT >> 20) / 3)
      const runs = [1, 2, 3, 4].map(i => run(d, `head -c ${each}M /dev/zero > ${file}-${i}; echo wrote`))
      const outputs = await Promise.all(runs)
      expect(outputs.some(o => o.includes('signal: killed'))).toBe(true)
      for (let i = 0; i < 10; i++) await run(d, 'echo full').catch(() => '')
      expect(d.proc.signalCode).toBeNull()
      expect((await d.fetch('/ping')).status).toBe(200)
      for (const i of [1, 2, 3, 4]) rmSync(`${file}-${i}`, { force: true })
      expect(await run(d, 'echo served')).toContain('stdout:served')
    })
  },
  60_000,
)
