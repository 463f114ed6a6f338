/**
 * A child the kernel's OOM killer ends inside a shell that survives it: a session's run, an
 * isolated session's run and a bash cell end with the shell's 137, and say out of memory after
 * it (`exit status 137: out of memory: …`), the evalue still the status; the shell goes on. The
 * counters are the cgroup's, shared by every child of execd, so the words say a process was
 * killed while the run ran, no more. A run that ends 137 by itself says only its status. execd
 * runs in a v1 memory cgroup of its own (root, a writable v1 memory hierarchy, a tmpfs /dev/shm:
 * skipped visibly otherwise). `EXECD_BIN` runs another build of the executable.
 */
import { afterAll, expect, test } from 'bun:test'
import { existsSync, mkdtempSync, rmdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { inCgroup, v1CgroupOrWhy } from './kit/full-cgroup'
import { isolationOf, stdoutOf } from './kit/isolated'
import { type Daemon, postJson, readSse, waitFor } from './harness'
import { PYTHON, pythonAvailable } from './python-env'
import { createContext, ofType, runCode } from './runtime-kit'

const LIMIT = 300 << 20
const cgroup = pythonAvailable === true ? v1CgroupOrWhy('oom-shell', LIMIT) : 'no python'
if (typeof cgroup === 'string') console.warn(`skipped: a shell's child the OOM killer ends (${cgroup})`)
afterAll(() => {
  if (typeof cgroup !== 'string') rmdirSync(cgroup.dir)
})
const dir = typeof cgroup === 'string' ? '' : cgroup.dir

/** Anonymous memory past the limit, touched (a bare bytearray(n) is untouched zero pages). */
const HOG = `${PYTHON} -c "b = bytearray(b'x') * (1 << 30)"`
const OOM = /^exit status 137: out of memory: the kernel's OOM killer killed a process of this shell while this run ran/

async function sessionRun(d: Daemon, sid: string, command: string) {
  const frames = await readSse(await postJson(d, `/session/${sid}/run`, { command, timeout: 30_000 }))
  const last = frames.at(-1)?.data
  return { last, stdout: frames.filter(f => f.data.type === 'stdout').map(f => f.data.text) }
}

test.skipIf(typeof cgroup === 'string')(
  'a session: the run says out of memory, the shell goes on, a plain `exit 137` of a child says only its status',
  async () => {
    await inCgroup(dir, async d => {
      const sid = (await (await postJson(d, '/session', {})).json()).session_id as string
      const { last } = await sessionRun(d, sid, `x=kept; ${HOG}`)
      expect(last?.type).toBe('error')
      expect(last?.error.evalue).toBe('137')
      // Old build: ['exit status 137'].
      expect(last?.error.traceback).toHaveLength(1)
      expect(last?.error.traceback[0]).toMatch(OOM)
      expect(await sessionRun(d, sid, 'echo $x')).toEqual({
        last: expect.objectContaining({ type: 'execution_complete' }),
        stdout: ['kept'],
      })
      // No kill during this run: the status alone, as before.
      expect((await sessionRun(d, sid, 'bash -c "exit 137"')).last?.error.traceback).toEqual(['exit status 137'])
    })
  },
  60_000,
)

test.skipIf(typeof cgroup === 'string')(
  "two sessions: one's child is OOM-killed while the other's is `kill -9`ed, only the first is told out of memory",
  async () => {
    await inCgroup(dir, async (d, file) => {
      const open = async () => (await (await postJson(d, '/session', {})).json()).session_id as string
      const a = await open()
      const b = await open()
      // b's run starts (its count noted) before a's child is killed, and its child kills itself after.
      const started = `${file}-started`
      const go = `${file}-go`
      const killed = sessionRun(d, b, `bash -c 'touch ${started}; until [ -e ${go} ]; do sleep 0.02; done; kill -9 $$'`)
      await waitFor("b's run to start", () => existsSync(started))
      expect((await sessionRun(d, a, HOG)).last?.error.traceback[0]).toStartWith('exit status 137: out of memory: ')
      writeFileSync(go, '')
      // Old build: `exit status 137: out of memory: …`, the kill of a's child counted for b too.
      expect((await killed).last?.error).toEqual({
        ename: 'CommandExecError',
        evalue: '137',
        traceback: ['exit status 137'],
      })
    })
  },
  60_000,
)

test.skipIf(typeof cgroup === 'string')(
  'a bash cell: its error says out of memory, the context keeps its state',
  async () => {
    await inCgroup(dir, async d => {
      const id = await createContext(d, 'bash')
      const events = await runCode(d, `x=kept; ${HOG}`, { id })
      const error = ofType(events, 'error')[0]?.error
      expect(error?.ename).toBe('CommandExecError')
      expect(error?.evalue).toBe('137')
      expect(error?.traceback[0]).toMatch(OOM)
      const next = await runCode(d, 'echo $x', { id })
      expect(ofType(next, 'stdout').map(e => e.text)).toEqual(['kept\n'])
    })
  },
  60_000,
)

test.skipIf(typeof cgroup === 'string' || !Bun.which('bwrap'))(
  'an isolated session: the run says out of memory, the sandbox goes on',
  async () => {
    await inCgroup(dir, async d => {
      const ws = mkdtempSync(join(tmpdir(), 'oom-shell-ws-'))
      try {
        await isolationOf(d).withSession({ workspace: { path: ws } }, async s => {
          const e = await s.run(`x=kept; ${HOG}`, { timeout_seconds: 30 })
          expect(e.error?.value).toBe('137')
          expect(e.error?.traceback[0]).toMatch(OOM)
          expect(stdoutOf(await s.run('echo $x', { timeout_seconds: 30 }))).toEqual(['kept'])
        })
      } finally {
        rmSync(ws, { recursive: true, force: true })
      }
    })
  },
  60_000,
)
