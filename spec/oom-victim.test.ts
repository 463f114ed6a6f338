/**
 * Out of memory, the kernel's OOM killer takes the process with the most memory of its own. In a
 * container whose memory is shared by execd and what it runs, that was execd whenever each child
 * was smaller than it, however many there were: every command, session and interpreter was left
 * without its owner. Owned children now start with an oom_score_adj 500 above execd's own.
 */
import { afterAll, expect, test } from 'bun:test'
import { existsSync, mkdtempSync, readFileSync, rmdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { memoryCgroup } from './kit/memory-cgroup'
import { type Daemon, pidsWith, postJson, readSse, startDaemon, waitFor } from './harness'
import { PYTHON } from './python-env'

const dir = mkdtempSync(join(tmpdir(), 'execd-spec-oom-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const adjOf = (pid: number | string) => Number(readFileSync(`/proc/${pid}/oom_score_adj`, 'latin1'))

test("a command, its own children and an interpreter start 500 above execd's oom_score_adj; execd's stays", async () => {
  const d = await startDaemon()
  try {
    const own = adjOf(d.proc.pid)
    const frames = await readSse(
      await postJson(d, '/command', { command: 'cat /proc/self/oom_score_adj; (cat /proc/self/oom_score_adj)' }),
    )
    const lines = frames.filter(f => f.data.type === 'stdout').map(f => Number(f.data.text))
    const child = Math.min(1000, own + 500)
    expect(lines).toEqual([child, child])
    const cell = await readSse(
      await postJson(d, '/code', {
        context: { language: 'python' },
        code: "print(open('/proc/self/oom_score_adj').read().strip())",
      }),
    )
    expect(cell.find(f => f.data.type === 'stdout')?.data.text.trim()).toBe(String(child))
    expect(adjOf(d.proc.pid)).toBe(own)
  } finally {
    await d.stop()
  }
})

const cgroup = process.getuid?.() === 0 ? memoryCgroup('oom', 300 << 20) : 'not root'

/** The cgroup's OOM kills so far (memory.events' oom_kill). */
function kills(cg: { dir: string; version: 1 | 2 }): number {
  const text = readFileSync(join(cg.dir, cg.version === 2 ? 'memory.events' : 'memory.oom_control'), 'latin1')
  return Number(/^oom_kill (\d+)$/m.exec(text)?.[1] ?? 0)
}

/**
 * execd moved into the cgroup (then execd: the same pid), `body` run against it; on failure, what
 * tells who was killed: execd's exit, the cgroup's events, execd's log. Then every process whose
 * command line has `marker` is killed and the cgroup emptied.
 */
async function inCgroup(marker: string, body: (d: Daemon) => Promise<void>): Promise<void> {
  const cg = cgroup as { dir: string; version: 1 | 2 }
  const d = await startDaemon({
    under: ['sh', '-c', `echo $$ > ${cg.dir}/cgroup.procs && exec "$@"`, 'sh'],
    args: ['--cgroups', 'off'],
    env: { EXECD_PYTHON_SPARE: '0' },
  })
  try {
    await body(d)
  } catch (err) {
    const events = readFileSync(join(cg.dir, cg.version === 2 ? 'memory.events' : 'memory.oom_control'), 'latin1')
    console.error(
      `execd exit ${d.proc.exitCode} signal ${d.proc.signalCode}; ${events.replaceAll('\n', ', ')}\n` +
        `execd's log (end):\n${d.logs().slice(-4000)}`,
    )
    throw err
  } finally {
    if (d.proc.exitCode === null) await d.stop()
    await waitFor('the children to go', () => {
      const pids = pidsWith(marker)
      pids.forEach(pid => process.kill(pid, 'SIGKILL'))
      return pids.length === 0
    })
    await waitFor('the cgroup to empty', () => readFileSync(join(cg.dir, 'cgroup.procs'), 'latin1').trim() === '')
  }
}
afterAll(() => {
  if (typeof cgroup !== 'string') rmdirSync(cgroup.dir)
})

/** A background command: a python of ~40 MiB of its own (the interpreter and 28 MiB it touches), below execd's ~55. */
const holder = (marker: string, ready = '/dev/null') =>
  `exec -a ${marker} ${PYTHON} -c "import time; x = b'y' * (28 << 20); open('${ready}', 'w').close(); time.sleep(300)"`

test.skipIf(typeof cgroup === 'string')(
  'in a 300 MiB memory cgroup, children smaller than execd are killed before it; execd serves on',
  async () => {
    const cg = cgroup as { dir: string; version: 1 | 2 }
    const marker = `oom-${crypto.randomUUID().slice(0, 8)}`
    await inCgroup(marker, async d => {
      const before = kills(cg)
      // Together far past the limit. One at a time, each once it holds its memory.
      for (let i = 0; i < 20 && kills(cg) === before; i++) {
        const ready = join(dir, `${marker}-${i}`)
        await readSse(await postJson(d, '/command', { command: holder(marker, ready), background: true }))
        await waitFor('the child to hold its memory, or an OOM kill', () => existsSync(ready) || kills(cg) > before)
      }
      expect(kills(cg)).toBeGreaterThan(before)
      expect(d.proc.exitCode).toBeNull()
      expect((await d.fetch('/ping')).status).toBe(200)
      const frames = await readSse(await postJson(d, '/command', { command: 'echo served' }))
      expect(frames.some(f => f.data.text === 'served')).toBe(true)
    })
  },
  120_000,
)

// execd had its children's value itself while it spawned one, for the child to inherit; out of
// memory then (likely then: a spawn takes memory of its own), the killer took execd, the largest of
// equals. That was the ECONNRESET of a command right after the kills above, now and then.
test("execd's own oom_score_adj is never its children's, even while it starts them", async () => {
  const d = await startDaemon()
  // Reads execd's value as fast as it can until stdin closes, then prints every value it saw.
  const watcher = Bun.spawn(
    [
      PYTHON,
      '-c',
      `import sys, threading
seen, done = set(), threading.Event()
threading.Thread(target=lambda: (sys.stdin.read(), done.set()), daemon=True).start()
print('watching', flush=True)
while not done.is_set():
    with open('/proc/${d.proc.pid}/oom_score_adj') as f: seen.add(f.read().strip())
print(' '.join(sorted(seen)))`,
    ],
    { stdin: 'pipe', stdout: 'pipe' },
  )
  try {
    const own = String(adjOf(d.proc.pid))
    const out = watcher.stdout.getReader()
    await out.read() // watching
    for (let i = 0; i < 100; i++) {
      const frames = await readSse(await postJson(d, '/command', { command: 'true' }))
      expect(frames.at(-1)?.data.type).toBe('execution_complete')
    }
    watcher.stdin.end()
    let text = ''
    for (let r = await out.read(); !r.done; r = await out.read()) text += new TextDecoder().decode(r.value)
    expect([...new Set(text.trim().split(/\s+/))]).toEqual([own])
  } finally {
    watcher.kill()
    await d.stop()
  }
}, 60_000)
