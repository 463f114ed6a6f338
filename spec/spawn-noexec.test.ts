/**
 * A program the kernel will not exec (ENOEXEC: a foreign ELF, a file of no format) on execd's
 * PATH as `bash`. Without a memory reserve its spawn fails, and each route says so as it does
 * for any start failure (the reference's `fork/exec …: exec format error`); under a reserve it
 * went through the gate (core/reserve-gate.ts), whose exec failed after the spawn: the command
 * "ran" and exited 126, and a session was made around a shell that was gone. The reserve's
 * daemon needs root and a v1 memory hierarchy: skipped visibly otherwise.
 */
import { afterAll, expect, test } from 'bun:test'
import { copyFileSync, mkdtempSync, readFileSync, rmdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { inCgroup, v1CgroupOrWhy } from './kit/full-cgroup'
import { type Daemon, postJson, readSse, startDaemon, waitFor } from './harness'

const dir = mkdtempSync(join(tmpdir(), 'execd-spec-noexec-'))
// This machine's bash with another machine's number in its ELF header (aarch64 on x64, else x64).
const foreign = Buffer.from(readFileSync(Bun.which('bash')!))
foreign.writeUInt16LE(process.arch === 'x64' ? 183 : 62, 18)
writeFileSync(join(dir, 'bash'), foreign, { mode: 0o755 })
const PATH = `${dir}:${process.env.PATH}`
/** The same file as bubblewrap, for an isolated session. */
const BWRAP = ['--isolated-bwrap', join(dir, 'bash')]

const cgroup = v1CgroupOrWhy('noexec', 512 << 20)
if (typeof cgroup === 'string') console.warn(`skipped: a program that cannot exec, under a memory reserve (${cgroup})`)
afterAll(() => {
  rmSync(dir, { recursive: true, force: true })
  if (typeof cgroup !== 'string') rmdirSync(cgroup.dir)
})

/** What each route answers, ids and times left out. */
async function answers(d: Daemon): Promise<string[]> {
  const fg = await readSse(await postJson(d, '/command', { command: 'echo hi' }))
  const bg = await readSse(await postJson(d, '/command', { command: 'echo hi', background: true }))
  const id = bg[0]!.data.text as string
  let status: Record<string, unknown> = {}
  await waitFor('the background command to end', async () => {
    status = await (await d.fetch(`/command/status/${id}`)).json()
    return status.running === false
  })
  const session = await postJson(d, '/session', {})
  const isolated = await postJson(d, '/v1/isolated/session', { workspace: { path: dir } })
  return [
    fg
      .map(f => `${f.data.type}:${f.data.text ?? JSON.stringify(f.data.error ?? '')}`)
      .join('\n')
      .replace(/"[0-9a-f]{32}"|^init:[0-9a-f]{32}/gm, 'ID'),
    `status ${status.exit_code} ${status.error}`,
    `session ${session.status} ${await session.text()}`,
    `isolated ${isolated.status} ${await isolated.text()}`,
  ]
}

const unreserved = await (async () => {
  const d = await startDaemon({ env: { PATH }, args: BWRAP })
  try {
    return await answers(d)
  } finally {
    await d.stop()
  }
})()

test('without a reserve, the spawn fails and says so as Go does: an error event, exit 255, a 500 for a session, a 503 for isolation', () => {
  const [fg, status, session, isolated] = unreserved
  const words = `fork/exec ${join(dir, 'bash')}: exec format error`
  expect(fg).toContain(
    `CommandExecError","evalue":"failed to start command: ${words}","traceback":["failed to start command: ${words}"]`,
  )
  expect(fg).not.toContain('stdout:hi')
  expect(status).toBe(`status 255 failed to start command: ${words}`)
  expect(session).toBe('session 500 {"code":"RUNTIME_ERROR","message":"fork/exec bash: exec format error"}')
  expect(isolated).toStartWith('isolated 503 {"code":"NOT_SUPPORTED","message":"isolation is unavailable: ')
  expect(isolated).toContain(`${join(dir, 'bash')} cannot be run: exec format error`)
})

test.skipIf(typeof cgroup === 'string')(
  'under a memory reserve, each route answers the same',
  async () => {
    await inCgroup(
      (cgroup as { dir: string }).dir,
      async d => {
        expect(await answers(d)).toEqual(unreserved)
        // The gate still stands in front of a program that runs.
        copyFileSync(Bun.which('bash')!, join(dir, 'bash'))
        const fg = await readSse(await postJson(d, '/command', { command: 'echo hi' }))
        expect(fg.map(f => f.data.text)).toContain('hi')
      },
      BWRAP,
      { PATH },
    )
  },
  60_000,
)

test.skipIf(typeof cgroup === 'string')(
  "under a memory reserve, a `bash` on execd's PATH whose #! names a FIFO fails its start and holds no one",
  async () => {
    // The gate's look at a program's first bytes followed the #! line into the FIFO with a plain
    // open, which waited for a writer on execd's only thread: no answer, no /ping, ever. A
    // command running as root can leave such a script on execd's PATH for the next spawn.
    const fifoDir = mkdtempSync(join(tmpdir(), 'execd-spec-noexec-fifo-'))
    try {
      Bun.spawnSync(['mkfifo', join(fifoDir, 'fifo')])
      writeFileSync(join(fifoDir, 'bash'), `#!${join(fifoDir, 'fifo')}\n`, { mode: 0o755 })
      await inCgroup(
        (cgroup as { dir: string }).dir,
        async d => {
          const fg = await readSse(await postJson(d, '/command', { command: 'echo hi' }))
          expect(fg.map(f => f.data.type).filter(t => t !== 'ping')).toEqual(['init', 'error'])
          expect((await d.fetch('/ping')).status).toBe(200)
        },
        [],
        { PATH: `${fifoDir}:${process.env.PATH}` },
      )
    } finally {
      rmSync(fifoDir, { recursive: true, force: true })
    }
  },
  60_000,
)
