/**
 * execd at the limit of processes. A thread is a task like a process: once a command forks until
 * EAGAIN (a fork bomb, or just many processes), execd cannot start a thread either, and Bun
 * aborted the first time JavaScriptCore wanted one of the threads it starts on demand (JIT
 * compiler threads, GC markers, the collector), within a minute here: the daemon died and left
 * every child running (core/threads.ts). Each operation that needs a new process must answer
 * the contract's 503 naming the limit, every other one must go on working, and all of it must
 * work again once the processes end. The limit is a pids cgroup of execd's own (cgroup v1's
 * pids hierarchy, as on this machine), made for the test and removed after it.
 */
import { afterAll, describe, expect, test } from 'bun:test'
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { underProcessLimit } from '../core/threads'
import { postJson, readSse, startDaemon, waitFor, type Daemon } from './harness'

/** Threads JavaScriptCore starts when it needs them and lets exit when idle (their comm). */
const ON_DEMAND = /^(JITWorker|HeapHelper|.*ollector Thread)$/

const threadsOf = (pid: number): string[] =>
  readdirSync(`/proc/${pid}/task`)
    .map(t => {
      try {
        return readFileSync(`/proc/${pid}/task/${t}/comm`, 'latin1').trim()
      } catch {
        return ''
      }
    })
    .filter(Boolean)
    .sort()

const json = { 'Content-Type': 'application/json' }

/** Work that makes JavaScriptCore compile and collect: large bodies, each a new string (a 4xx). */
async function churn(d: Daemon, rounds: number): Promise<void> {
  for (let i = 0; i < rounds; i++) {
    const res = await postJson(d, '/files/mv', {
      [`/nonexistent-spec-pids/${i}/${'x'.repeat(1 << 19)}`]: '/nonexistent-spec-pids/y',
    })
    expect(res.status).toBeLessThan(500)
    await res.arrayBuffer()
  }
}

const PIDS_ROOT = '/sys/fs/cgroup/pids'
const python = Bun.which(process.env.EXECD_PYTHON ?? 'python3') !== null
const pidsV1 = process.getuid?.() === 0 && existsSync(join(PIDS_ROOT, 'cgroup.procs'))
if (!pidsV1)
  console.warn('spec/pids.test.ts: not root or no cgroup v1 pids hierarchy here, the pids limit is not tried')

const made: string[] = []
afterAll(() => {
  for (const dir of made) {
    // Whatever is left in it (the test failed half-way): killed, then the cgroup removed.
    for (let i = 0; i < 50 && existsSync(dir); i++) {
      for (const pid of readFileSync(join(dir, 'cgroup.procs'), 'latin1').split('\n').filter(Boolean)) {
        try {
          process.kill(Number(pid), 'SIGKILL')
        } catch {}
      }
      try {
        rmdirSync(dir)
      } catch {
        Bun.sleepSync(20)
      }
    }
  }
})

/** A pids cgroup of the test's own, with `limit`: removed after the file (afterAll above). */
function pidsCgroup(limit: number): string {
  const cg = join(PIDS_ROOT, `execd-spec-pids-${process.pid}-${made.length}-${Date.now()}`)
  mkdirSync(cg)
  made.push(cg)
  writeFileSync(join(cg, 'pids.max'), String(limit))
  return cg
}

/** startDaemon's `under`: sh joins the cgroup, then execs execd (the same process). */
const inCgroup = (cg: string) => ['sh', '-c', `echo $$ > ${cg}/cgroup.procs && exec "$@"`, 'sh']

describe.skipIf(!pidsV1)('execd serve under a limit on processes', () => {
  test('runs with no thread that JavaScriptCore would start on demand, and hands children the environment it was given', async () => {
    const d = await startDaemon({ under: inCgroup(pidsCgroup(4096)) })
    try {
      await churn(d, 20)
      const names = threadsOf(d.proc.pid)
      expect(names.filter(n => ON_DEMAND.test(n))).toEqual([])
      // The same process (the run again is an exec), under its own name.
      expect(readFileSync(`/proc/${d.proc.pid}/comm`, 'latin1').trim()).toBe('execd')
      const frames = await readSse(await postJson(d, '/command', { command: 'env' }))
      const env = frames.filter(f => f.data.type === 'stdout').map(f => f.data.text as string)
      expect(env.some(line => line.startsWith('PATH='))).toBe(true)
      expect(env.filter(line => /^(BUN_JSC_|EXECD_JSC_)/.test(line))).toEqual([])
    } finally {
      await d.stop()
    }
  }, 60_000)
})

describe.skipIf(await underProcessLimit())('execd serve with no limit on processes', () => {
  test('starts once: the run again (a second runtime start) is not made', async () => {
    const d = await startDaemon()
    try {
      // The environment execd was exec'd with: the run again would have added the JSC options.
      const environ = readFileSync(`/proc/${d.proc.pid}/environ`, 'latin1').split('\0')
      expect(environ.filter(v => /^(BUN_JSC_|EXECD_JSC_)/.test(v))).toEqual([])
    } finally {
      await d.stop()
    }
  })
})

describe.skipIf(!pidsV1)('execd with every pid of its pids cgroup taken by a command', () => {
  test('answers a JSON 503 naming the limit for what needs a process, stays up, and recovers once they end', async () => {
    const limit = 48
    const cg = pidsCgroup(limit)
    const current = () => Number(readFileSync(join(cg, 'pids.current'), 'latin1'))
    // execd starts in the cgroup (sh joins it, then execs execd: the same process).
    // No spare python: the first python context must start one at the limit.
    const d = await startDaemon({ under: inCgroup(cg), args: ['--python-spare', '0'] })
    const scratch = mkdtempSync(join(tmpdir(), 'execd-spec-pids-'))
    try {
      const pid = d.proc.pid
      const bomb = await readSse(
        await postJson(d, '/command', { command: 'while :; do sleep 1000 & done', background: true }),
      )
      const bombId = bomb.find(f => f.data.type === 'init')!.data.text as string
      await waitFor('the command to take every pid', () => current() >= limit, 30_000)
      const before = threadsOf(pid)

      const refused = [
        await postJson(d, '/command', { command: 'echo hi' }),
        await postJson(d, '/session', {}),
        await postJson(d, '/code/context', { language: 'bash' }),
        await postJson(d, '/code/context', { language: 'javascript' }),
        ...(python ? [await postJson(d, '/code/context', { language: 'python' })] : []),
      ]
      for (const res of refused) {
        const text = await res.text()
        expect(`${res.status} ${text}`).toStartWith('503 ')
        const body = JSON.parse(text)
        expect(body.code).toBe('SERVICE_UNAVAILABLE')
        expect(body.message).toContain(`pids.max ${limit}`)
      }
      // What needs no process goes on: files, metrics.
      const file = join(scratch, 'f')
      const form = new FormData()
      form.append('metadata', JSON.stringify({ path: file }))
      form.append('file', new Blob(['hello']))
      expect((await d.fetch('/files/upload', { method: 'POST', body: form })).status).toBe(200)
      expect(await (await d.fetch(`/files/download?path=${encodeURIComponent(file)}`)).text()).toBe('hello')
      expect((await d.fetch(`/files/info?path=${encodeURIComponent(file)}`)).status).toBe(200)
      expect((await d.fetch('/metrics')).status).toBe(200)
      await churn(d, 40)
      expect((await d.fetch('/ping')).status).toBe(200)
      expect(d.proc.exitCode).toBeNull()
      // It needed no thread it did not have.
      expect(threadsOf(pid)).toEqual(before)

      expect((await d.fetch(`/command?id=${bombId}`, { method: 'DELETE' })).status).toBe(200)
      await waitFor('the command and its processes to end', () => current() < limit / 2, 30_000)
      const frames = await readSse(await postJson(d, '/command', { command: 'echo hi' }))
      expect(frames.some(f => f.data.type === 'stdout' && f.data.text === 'hi')).toBe(true)
      expect((await postJson(d, '/code/context', { language: 'bash' })).status).toBe(200)
      // python's probe at the limit was not kept as "python is not available here".
      if (python) expect((await postJson(d, '/code/context', { language: 'python' })).status).toBe(200)
    } finally {
      await d.stop()
      rmSync(scratch, { recursive: true, force: true })
    }
  }, 120_000)
})
