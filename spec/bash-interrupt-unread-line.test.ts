/**
 * An interrupt that reaches a live bash before the shell has read the run's line (a `--timeout`
 * or an interrupt sent at once, on a loaded machine). bash's INT trap then had no sourced run to
 * leave: the code started anyway, the grace's kill of its `sleep` made bash say `Killed` on the
 * run's stderr after 1 s, and what came after the sleep ran. Here the shell is stopped (SIGSTOP)
 * while the run's line waits in its input, the interrupt is sent, and the shell is let go once
 * the interrupt's SIGINT is pending in it: deterministic, with real processes.
 */
import { describe, expect, test } from 'bun:test'
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { pidsWith, postJson, readSse, waitFor, type Daemon } from './harness'
import { daemonWithDir } from './kit/daemon-dir'
import { createContext, ofType, runCode, type WireEvent } from './runtime-kit'

const fx = daemonWithDir('interrupt-unread-line', tmp => ({ env: { TMPDIR: tmp } }))

const shells = (d: Daemon) => new Set(pidsWith('bash --noprofile --norc', d.proc.pid))

/** Whether a file under `dir` holds `code`: the run's code file, written just before its line. */
function written(dir: string, code: string): boolean {
  for (const e of readdirSync(dir, { recursive: true, withFileTypes: true }))
    try {
      if (e.isFile() && e.name.endsWith('.sh') && readFileSync(join(e.parentPath, e.name), 'utf8') === code) return true
    } catch {}
  return false
}

/** SIGINT (bit 2) pending for the thread or its process: sent, not yet handled. */
function intPending(pid: number): boolean {
  const status = readFileSync(`/proc/${pid}/status`, 'latin1')
  return [...status.matchAll(/^(?:SigPnd|ShdPnd):\s*([0-9a-f]+)$/gm)].some(m => (BigInt(`0x${m[1]}`) & 2n) !== 0n)
}

/** The process's state letter (/proc/<pid>/stat): 'T' once a SIGSTOP has stopped it. */
function stateOf(pid: number): string {
  const stat = readFileSync(`/proc/${pid}/stat`, 'latin1')
  return stat[stat.lastIndexOf(')') + 2]!
}

interface Case {
  kind: string
  /** Makes the shell and sets x=41 in it; gives what the interrupt and runs need. */
  open(d: Daemon): Promise<string>
  start(d: Daemon, id: string, code: string): Promise<Response>
  interrupt(d: Daemon, id: string): Promise<Response>
  read(d: Daemon, id: string): Promise<string>
}

const joined = (events: WireEvent[], type: string) =>
  ofType(events, type)
    .map(e => e.text)
    .join('')

/** A run's stdout and stderr, and how it ended: its error (a session's last event) and last event. */
function outcome(events: WireEvent[]): { stdout: string; stderr: string; end: string } {
  const errors = ofType(events, 'error').map(e => `${e.error?.ename} ${e.error?.evalue} ${e.error?.traceback}`)
  return {
    stdout: joined(events, 'stdout'),
    stderr: joined(events, 'stderr'),
    end: [...errors, events.at(-1)?.type].join('; '),
  }
}

const cases: Case[] = [
  {
    kind: 'session',
    async open(d) {
      const res = await postJson(d, '/session', {})
      const id = (await res.json()).session_id as string
      await readSse(await postJson(d, `/session/${id}/run`, { command: 'x=41' }))
      return id
    },
    start: (d, id, code) => postJson(d, `/session/${id}/run`, { command: code }),
    interrupt: (d, id) => d.fetch(`/command?id=${id}`, { method: 'DELETE' }),
    async read(d, id) {
      const frames = await readSse(await postJson(d, `/session/${id}/run`, { command: 'echo $x' }))
      return joined(
        frames.map(f => f.data),
        'stdout',
      )
    },
  },
  {
    kind: 'bash code context',
    async open(d) {
      const id = await createContext(d, 'bash')
      await runCode(d, 'x=41', { id })
      return id
    },
    start: (d, id, code) => postJson(d, '/code', { code, context: { id } }),
    interrupt: (d, id) => d.fetch(`/code?id=${id}`, { method: 'DELETE' }),
    read: async (d, id) => joined(await runCode(d, 'echo $x', { id }), 'stdout'),
  },
]

describe("an interrupt sent before the shell has read the run's line", () => {
  for (const c of cases) {
    test(`${c.kind}: the run never starts, and ends as an interrupted run does`, async () => {
      const d = fx.d
      const before = shells(d)
      const id = await c.open(d)
      const [shell] = [...shells(d)].filter(p => !before.has(p))
      expect(shell).toBeNumber()
      const code = `sleep 300; echo ran-${c.kind.length}`
      // The usual end: the same run interrupted once its sleep runs.
      const normal = await c.start(d, id, 'sleep 300; echo normal')
      await waitFor('the sleep started', () => pidsWith('sleep 300', shell).length > 0)
      expect((await c.interrupt(d, id)).status).toBe(200)
      const usual = outcome((await readSse(normal)).map(f => f.data)).end
      expect(usual).toContain('signal: interrupt')
      process.kill(shell!, 'SIGSTOP')
      // Stopped, not only sent SIGSTOP: a shell not yet scheduled since took the interrupt's
      // SIGINT (the lower number) before stopping, and nothing was left pending to wait for.
      await waitFor('the shell stopped', () => stateOf(shell!) === 'T')
      let res: Response
      try {
        res = await c.start(d, id, code)
        expect(res.status).toBe(200)
        await waitFor('the run written out', () => written(fx.tmp, code))
        const stopping = c.interrupt(d, id)
        // Let go within the interrupt's 1 s grace (then the shell is killed, on either build):
        // polled more often than waitFor does.
        for (const until = Date.now() + 15_000; !intPending(shell!) && Date.now() < until;) await Bun.sleep(2)
        process.kill(shell!, 'SIGCONT')
        expect((await stopping).status).toBe(200)
      } finally {
        try {
          process.kill(shell!, 'SIGCONT')
        } catch {}
      }
      const frames = (await readSse(res)).map(f => f.data)
      // Old build, after the 1 s grace: stdout 'ran-…' and, often, stderr 'bash: line 1: N Killed …'.
      const { stdout, stderr, end } = outcome(frames)
      expect([stdout, stderr]).toEqual(['', ''])
      expect(end).toBe(usual)
      expect(await c.read(d, id)).toBe(c.kind === 'session' ? '41' : '41\n')
    }, 30_000)
  }
})
