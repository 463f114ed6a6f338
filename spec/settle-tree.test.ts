/**
 * With `--cgroups off`, a finished command is let go of after a pass that finds nothing of it
 * left. That pass read the stat and environ of every process of the host, every 10 s while a
 * command lingered (2,000 other processes: ~130 ms of CPU a pass); it now walks execd's own tree
 * (core/descendant-scan.ts), which holds everything a command can leave (execd is its children's
 * subreaper). Seen with strace on the daemon: a process outside the tree is never read. Skipped,
 * visibly, without strace. `EXECD_BIN` runs another build of the executable.
 */
import { afterAll, expect, test } from 'bun:test'
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { postJson, readSse, startDaemon, waitFor } from './harness'

const strace = Bun.which('strace')
if (!strace) console.warn('skipped: the settle pass over execd tree needs strace')
const dir = mkdtempSync(join(tmpdir(), 'execd-spec-settle-tree-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

test.skipIf(!strace)(
  "--cgroups off: the pass that lets finished commands go reads execd's tree, not a process outside it",
  async () => {
    const outsider = Bun.spawn(['sleep', '120'], { stdin: 'ignore', stdout: 'ignore', stderr: 'ignore' })
    const d = await startDaemon({
      args: ['--cgroups', 'off'],
      env: { EXECD_PERIODS: 'settle:200' },
      bin: process.env.EXECD_BIN,
    })
    const log = join(dir, 'openat.strace')
    const tids = readdirSync(`/proc/${d.proc.pid}/task`).flatMap(t => ['-p', t])
    const tracer = Bun.spawn(['strace', '-f', '-qq', '-e', 'trace=openat', '-o', log, ...tids], { stderr: 'pipe' })
    try {
      await waitFor('strace to attach', () =>
        /^TracerPid:\s+[1-9]/m.test(readFileSync(`/proc/${d.proc.pid}/status`, 'latin1')),
      )
      // Its shell exits at once; the sleep it leaves keeps the command lingering, pass after pass.
      const frames = await readSse(await postJson(d, '/command', { command: 'sleep 30 & echo $!' }))
      const left = frames.find(f => f.data.type === 'stdout')?.data.text.trim()
      expect(left).toMatch(/^\d+$/)
      const read = (pid: string | number) => new RegExp(`"/proc/${pid}/(stat|environ)"`)
      const opened = () => readFileSync(log, 'latin1')
      // Three passes at least: each reads what the command left.
      await waitFor('passes over what the command left', () => opened().split(read(left!)).length > 6, 20_000)
      expect(opened()).not.toMatch(read(outsider.pid))
    } finally {
      tracer.kill('SIGINT')
      await tracer.exited
      outsider.kill()
      await d.stop()
    }
  },
  60_000,
)
