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
import { pidsWith, postJson, readSse, startDaemon, waitFor } from './harness'
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

test.skipIf(typeof cgroup === 'string')(
  'in a 300 MiB memory cgroup, children smaller than execd are killed before it; execd serves on',
  async () => {
    const { dir: cg, version } = cgroup as { dir: string; version: 1 | 2 }
    const kills = () => {
      const text = readFileSync(join(cg, version === 2 ? 'memory.events' : 'memory.oom_control'), 'latin1')
      return Number(/^oom_kill (\d+)$/m.exec(text)?.[1] ?? 0)
    }
    const marker = `oom-${crypto.randomUUID().slice(0, 8)}`
    // execd moves itself into the cgroup, then is execd (the same pid).
    const d = await startDaemon({
      under: ['sh', '-c', `echo $$ > ${cg}/cgroup.procs && exec "$@"`, 'sh'],
      args: ['--cgroups', 'off'],
      env: { EXECD_PYTHON_SPARE: '0' },
    })
    try {
      const before = kills()
      // Each ~40 MiB of its own (the interpreter and 28 MiB it touches), below execd's ~55;
      // together far past the limit. One at a time, each once it holds its memory.
      for (let i = 0; i < 20 && kills() === before; i++) {
        const ready = join(dir, `${marker}-${i}`)
        const program = `import time; x = b'y' * (28 << 20); open('${ready}', 'w').close(); time.sleep(300)`
        await readSse(
          await postJson(d, '/command', { command: `exec -a ${marker} ${PYTHON} -c "${program}"`, background: true }),
        )
        await waitFor('the child to hold its memory, or an OOM kill', () => existsSync(ready) || kills() > before)
      }
      expect(kills()).toBeGreaterThan(before)
      expect(d.proc.exitCode).toBeNull()
      expect((await d.fetch('/ping')).status).toBe(200)
      const frames = await readSse(await postJson(d, '/command', { command: 'echo served' }))
      expect(frames.some(f => f.data.text === 'served')).toBe(true)
    } finally {
      if (d.proc.exitCode === null) await d.stop()
      pidsWith(marker).forEach(pid => process.kill(pid, 'SIGKILL'))
      await waitFor('the cgroup to empty', () => readFileSync(join(cg, 'cgroup.procs'), 'latin1').trim() === '')
      rmdirSync(cg)
    }
  },
  120_000,
)
