/**
 * execd in a full memory cgroup. A command that writes past the limit into a tmpfs is killed, but
 * its file stays, as memory that is no process's: execd, the one process left, was killed next
 * (core/memory-reserve.ts). Its children now have a cgroup of their own below execd's, limited
 * to execd's limit less a reserve. Needs root, a writable v1 memory hierarchy and a tmpfs
 * /dev/shm: skipped visibly otherwise. `EXECD_BIN` runs another build of the executable.
 */
import { afterAll, expect, test } from 'bun:test'
import { rmdirSync, rmSync } from 'node:fs'
import { inCgroup, v1CgroupOrWhy } from './kit/full-cgroup'
import { type Daemon, postJson, readSse } from './harness'

const LIMIT = 300 << 20
const cgroup = v1CgroupOrWhy('reserve', LIMIT)
if (typeof cgroup === 'string') console.warn(`skipped: execd in a full memory cgroup (${cgroup})`)
afterAll(() => {
  if (typeof cgroup !== 'string') rmdirSync(cgroup.dir)
})

/** execd started inside the limited cgroup, `body` run against it, every trace of it gone after. */
const inFullCgroup = (body: (d: Daemon, file: string) => Promise<void>) =>
  inCgroup((cgroup as { dir: string }).dir, body)

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
