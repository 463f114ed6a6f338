/**
 * execd in a full memory cgroup. A command that writes past the limit into a tmpfs is killed, but
 * its file stays, as memory that is no process's: execd, the one process left, was killed next
 * (core/memory-reserve.ts). Its children now have a cgroup of their own below execd's, limited
 * to execd's limit less a reserve. Needs root, a writable v1 memory hierarchy and a tmpfs
 * /dev/shm: skipped visibly otherwise. `EXECD_BIN` runs another build of the executable.
 */
import { afterAll, expect, test } from 'bun:test'
import { readdirSync, readFileSync, rmdirSync, rmSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { inCgroup, v1CgroupOrWhy } from './kit/full-cgroup'
import { pageCgroupsWhyNot, stackPageCgroups } from './kit/page-cgroup'
import { type Daemon, pidsWith, postJson, readSse, stdoutJoined, waitFor } from './harness'

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

const pagesWhyNot = typeof cgroup === 'string' ? cgroup : pageCgroupsWhyNot()
if (pagesWhyNot) console.warn(`skipped: where a child's first pages are counted (${pagesWhyNot})`)

test.skipIf(pagesWhyNot !== undefined)(
  "a child is in the children's cgroup before it runs: the stack its exec filled is counted there, not in execd's",
  async () => {
    await inFullCgroup(async d => {
      const dir = (cgroup as { dir: string }).dir
      // Made just after execd says it listens.
      const made = () => readdirSync(dir).find(name => name.startsWith('execd-'))
      await waitFor("the children's cgroup", () => made() !== undefined)
      const children = join(dir, made()!)
      const pids = () => readFileSync(join(children, 'cgroup.procs'), 'latin1').trim().split('\n').filter(Boolean)
      const cmdline = (pid: string) => readFileSync(`/proc/${pid}/cmdline`, 'latin1').replaceAll('\0', ' ').trim()
      await readSse(await postJson(d, '/command', { command: 'sleep 60; :', background: true }))
      await waitFor('the command and its sleep', () => pids().some(pid => cmdline(pid).startsWith('sleep ')))
      const where = pids().map(pid => `${cmdline(pid)}: ${[...new Set(stackPageCgroups(Number(pid)))]}`)
      // Before, execd moved the child after Bun.spawn returned, when its exec had filled its stack:
      // the shell's first pages stayed on execd's side, in 5 runs of 5.
      const ino = statSync(children).ino
      expect(where).toEqual(pids().map(pid => `${cmdline(pid)}: ${ino}`))
    })
  },
  60_000,
)

test.skipIf(typeof cgroup === 'string')(
  'behind the gate the environment reaches the program byte for byte, and no value of it stands on a command line',
  async () => {
    await inFullCgroup(async d => {
      const secret = `tok-${crypto.randomUUID()}`
      // What a shell in front would drop or change: names dash cannot hold, IFS, a bad OPTIND, a
      // value with a newline and `=` (JSON carries no bytes that are not UTF-8, so none is tried).
      const envs = {
        SECRET: secret,
        'a.b': 'c',
        'BASH_FUNC_f%%': '() { echo f; }',
        IFS: 'x',
        OPTIND: 'bad',
        MULTI: 'one\ntwo=three\n',
      }
      const seen = new Set<number>()
      let running = true
      // Every process's command line read over and over while twenty commands with the secret
      // start: an `env -i NAME=value…` in front stood on one for each spawn's first moments.
      const scan = (async () => {
        while (running) {
          for (const pid of pidsWith(secret)) seen.add(pid)
          await Bun.sleep(0)
        }
      })()
      // Not the last command: bash would exec it with its own export list, not what bash was given.
      const command = 'base64 -w0 /proc/$$/environ; :'
      const runs = await Promise.all(
        Array.from({ length: 20 }, () => postJson(d, '/command', { command, envs }).then(readSse)),
      )
      running = false
      await scan
      expect([...seen]).toEqual([])
      for (const frames of runs) {
        const environ = Buffer.from(stdoutJoined(frames), 'base64').toString('latin1').split('\0')
        expect(environ).toEqual(expect.arrayContaining(Object.entries(envs).map(([k, v]) => `${k}=${v}`)))
        expect(environ.filter(entry => entry.startsWith('PPID='))).toEqual([])
      }
      // execd run again as Bun, by /proc/self/exe (the gate's own link, were it not execd's by pid);
      // its IPC channel's descriptor and variables reach it.
      const context = (await (await postJson(d, '/code/context', { language: 'javascript' })).json()) as { id: string }
      const cell = await readSse(
        await postJson(d, '/code', { code: 'console.log(6 * 7)', context: { id: context.id } }),
      )
      expect(stdoutJoined(cell).trim()).toBe('42')
      // A command that empties execd's temp dir takes the gate with it: the next spawn runs ungated
      // and the gate is written again for the one after.
      const gates = 'ls -d "${TMPDIR:-/tmp}"/execd-gate-*/enter'
      expect(await run(d, `${gates} && rm -rf "\${TMPDIR:-/tmp}"/execd-gate-*; ${gates}`)).toMatch(
        /stdout:\S+\/enter\nstderr:[^\n]*No such file/,
      )
      expect(await run(d, gates)).toMatch(/stdout:\S+\/enter\n/)
    })
  },
  60_000,
)
