/**
 * `--memory-reserve-bytes` (EXECD_MEMORY_RESERVE_BYTES): how much of execd's memory limit its
 * children's cgroup leaves to execd (core/memory-reserve.ts). The refusals run anywhere; the
 * reserve itself needs execd in a v1 memory cgroup of its own (root, a writable v1 memory
 * hierarchy, a tmpfs /dev/shm: skipped visibly otherwise). `EXECD_BIN` runs another build.
 */
import { afterAll, expect, test } from 'bun:test'
import { readFileSync, rmdirSync } from 'node:fs'
import { inCgroup, v1CgroupOrWhy } from './kit/full-cgroup'
import { BIN, type Daemon, postJson, readSse } from './harness'

const LIMIT = 300 << 20
const cgroup = v1CgroupOrWhy('reserve-option', LIMIT)
if (typeof cgroup === 'string') console.warn(`skipped: the memory reserve's size (${cgroup})`)
afterAll(() => {
  if (typeof cgroup !== 'string') rmdirSync(cgroup.dir)
})
const dir = typeof cgroup === 'string' ? '' : cgroup.dir

/**
 * The v1 memory cgroup a command of `d` runs in, as a path below the hierarchy's mount. Read by
 * a process the command's shell forks after a pause: execd moves the shell just after its spawn,
 * and a `cat` exec'd at once read its cgroup before that move once under load.
 */
async function commandsCgroup(d: Daemon): Promise<string> {
  const frames = await readSse(await postJson(d, '/command', { command: 'sleep 0.2; cat /proc/self/cgroup' }))
  const line = frames.map(f => f.data.text ?? '').find(t => /^\d+:memory:/.test(t))
  return `/sys/fs/cgroup/memory${line?.split(':')[2]}`
}

test.skipIf(typeof cgroup === 'string')(
  "a reserve given in bytes: the children's cgroup is limited to execd's limit less it",
  async () => {
    await inCgroup(
      dir,
      async d => {
        const children = await commandsCgroup(d)
        expect(children).toMatch(/\/execd-\d+-[0-9a-f]+$/)
        expect(Number(readFileSync(`${children}/memory.limit_in_bytes`, 'latin1'))).toBe(LIMIT - (100 << 20))
      },
      ['--memory-reserve-bytes', String(100 << 20)],
    )
  },
  60_000,
)

test.skipIf(typeof cgroup === 'string')(
  '0: no reserve, children run in execd’s own memory cgroup',
  async () => {
    await inCgroup(dir, async d => expect(await commandsCgroup(d)).toBe(dir), ['--memory-reserve-bytes', '0'])
  },
  60_000,
)

test.skipIf(typeof cgroup === 'string')(
  "a reserve not below the limit: no children's cgroup, and the log says why",
  async () => {
    await inCgroup(
      dir,
      async d => {
        expect(await commandsCgroup(d)).toBe(dir)
        expect(d.logs()).toContain("not below execd's memory limit")
      },
      ['--memory-reserve-bytes', String(LIMIT)],
    )
  },
  60_000,
)

const REFUSED: [string, { flag?: string[]; env?: string }, string][] = [
  ['1000', { flag: ['--memory-reserve-bytes', '1000'] }, 'must be 0 or at least 16777216'],
  ['2^41', { flag: ['--memory-reserve-bytes', String(2 ** 41)] }, 'must be at most 1099511627776'],
  ['a word, from the environment', { env: 'lots' }, 'must be a non-negative integer'],
]

test.each(REFUSED)('%s is refused before execd listens: one line, the usage exit', (_, given, words) => {
  const bin = process.env.EXECD_BIN ?? BIN
  const p = Bun.spawnSync([bin, 'serve', '--port', '1', ...(given.flag ?? [])], {
    env: { ...process.env, EXECD_ACCESS_TOKEN: '', EXECD_MEMORY_RESERVE_BYTES: given.env ?? '' },
    // A build that takes the value serves on: ended, not waited for.
    timeout: 15_000,
    killSignal: 'SIGKILL',
  })
  const stderr = p.stderr.toString()
  expect(stderr).toBe(
    `execd: option --memory-reserve-bytes (EXECD_MEMORY_RESERVE_BYTES) ${words}, got '${given.flag?.[1] ?? given.env}'\n`,
  )
  expect(p.exitCode).toBe(2)
})
