import { afterAll, afterEach, beforeAll, describe, expect, test } from 'bun:test'
import { mkdtempSync, realpathSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { CgroupTree } from '../../core/cgroup'
import { closeCgroups, confineWithCgroups } from '../../core/cgroup-confinement'
import { groupAlive } from '../../core/process-groups'
import { ProcScanner } from '../../core/proc-scan'
import { collected } from '../../spec/kit/collected'
import { pidsInSessions } from '../../spec/kit/own-pids'
import { groupsBySession } from './proc-stat'
import { type OutputStream, PtySession } from './session'

/** A client that records what it is sent. */
function recorder() {
  const out = { stdout: '', stderr: '', exit: null as number | null }
  const decoder = new TextDecoder()
  return {
    out,
    client: {
      output: (stream: OutputStream, bytes: Uint8Array) => (out[stream] += decoder.decode(bytes)),
      exit: (code: number) => (out.exit = code),
    },
  }
}

async function until(what: string, check: () => boolean, limitMs = 10_000): Promise<void> {
  const deadline = Date.now() + limitMs
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await Bun.sleep(10)
  }
}

const sessions: PtySession[] = []
function session(command?: string, cwd?: string): PtySession {
  const s = new PtySession(crypto.randomUUID(), cwd, command)
  sessions.push(s)
  return s
}
afterEach(async () => {
  await Promise.all(sessions.splice(0).map(s => s.kill()))
})

describe('PtySession on a terminal', () => {
  test('runs an interactive bash on a terminal with TERM set, in the given cwd', async () => {
    const dir = realpathSync(mkdtempSync(join(tmpdir(), 'pty-')))
    try {
      const s = session(undefined, dir)
      const { out, client } = recorder()
      s.start('pty')
      s.attach(client, 0)
      s.write('test -t 0 && echo "tty:$TERM:$(pwd)"\n')
      await until('the echo', () => out.stdout.includes(`tty:xterm-256color:${dir}`))
      expect(s.running).toBe(true)
      expect(s.ring.total).toBeGreaterThan(0)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  test('resize changes what the terminal reports', async () => {
    const s = session()
    const { out, client } = recorder()
    s.start('pty')
    s.attach(client, 0)
    s.resize(120, 40)
    s.write('stty size\n')
    await until('stty size', () => out.stdout.includes('40 120'))
  })

  test('SIGINT reaches the foreground job and the shell survives', async () => {
    const s = session()
    const { out, client } = recorder()
    s.start('pty')
    s.attach(client, 0)
    s.write('sleep 100.25\n')
    const sleeps = () => pidsInSessions('100.25', s.pid!)
    await until('sleep to start', () => sleeps().length > 0)
    s.signal('SIGINT')
    await until('sleep to end', () => sleeps().length === 0)
    s.write('echo alive-$((40+2))\n')
    await until('the shell to answer', () => out.stdout.includes('alive-42'))
    expect(s.running).toBe(true)
  })

  test('exit reports the code to the client, and later attaches replay the output', async () => {
    const s = session()
    const first = recorder()
    s.start('pty')
    s.attach(first.client, 0)
    s.write('echo before-exit; exit 42\n')
    await until('exit', () => first.out.exit !== null)
    expect(first.out.exit).toBe(42)
    expect(s.running).toBe(false)
    const replay = s.attach(recorder().client, 0)
    expect(new TextDecoder().decode(replay!.bytes)).toContain('before-exit')
    expect(replay!.offset).toBe(0)
  })

  test('kill ends every job of the terminal, background jobs included', async () => {
    const s = session()
    const { out, client } = recorder()
    s.start('pty')
    s.attach(client, 0)
    s.write('sleep 200.5 & sleep 200.75 &\necho started\n')
    // Its session's, not the machine's: the same test run elsewhere at once has jobs of these names.
    const sid = s.pid!
    await until(
      'jobs',
      () =>
        pidsInSessions('200.5', sid).length > 0 &&
        pidsInSessions('200.75', sid).length > 0 &&
        out.stdout.includes('started'),
    )
    const groups = [...(groupsBySession(await new ProcScanner().scan(), new Set([s.pid!])).get(s.pid!) ?? [])]
    expect(groups.length).toBeGreaterThanOrEqual(3) // the shell and two jobs, each its own group
    await s.kill()
    expect(groups.filter(g => groupAlive(g))).toEqual([])
    expect(pidsInSessions('200.5', sid)).toEqual([])
    expect(pidsInSessions('200.75', sid)).toEqual([])
  })

  test('kill ends a job that ignores the hang-up', async () => {
    const s = session()
    const { out, client } = recorder()
    s.start('pty')
    s.attach(client, 0)
    s.write("trap '' HUP TERM; sleep 200.875 & echo started\n")
    const sid = s.pid!
    await until('the job', () => pidsInSessions('200.875', sid).length > 0 && out.stdout.includes('started'))
    await s.kill()
    expect(pidsInSessions('200.875', sid)).toEqual([])
  })

  test('a command runs instead of the shell and its exit code is kept', async () => {
    const s = session('printf done; exit 3')
    const { out, client } = recorder()
    s.start('pty')
    s.attach(client, 0)
    await until('exit', () => out.exit !== null)
    expect(out.exit).toBe(3)
    expect(out.stdout).toContain('done')
  })
})

describe('PtySession on pipes', () => {
  test('stdout and stderr arrive separately', async () => {
    const s = session()
    const { out, client } = recorder()
    s.start('pipe')
    s.attach(client, 0)
    s.write('echo to-out; echo to-err >&2; exit 0\n')
    await until('exit', () => out.exit !== null)
    expect(out.stdout).toBe('to-out\n')
    expect(out.stderr).toBe('to-err\n')
    expect(s.mode).toBe('pipe')
  })

  test('output with no client goes only to the ring', async () => {
    const s = session('echo quiet')
    s.start('pipe')
    await until('exit', () => s.exitCode !== null)
    expect(new TextDecoder().decode(s.ring.readFrom(0)!.bytes)).toBe('quiet\n')
  })

  test('writing to a process that closed its stdin rejects instead of failing silently', async () => {
    const s = session('exec 0<&-; echo closed; sleep 30')
    const { out, client } = recorder()
    s.start('pipe')
    s.attach(client, 0)
    await until('stdin closed', () => out.stdout.includes('closed'))
    await expect(s.write('x'.repeat(1 << 20))).rejects.toThrow()
  })

  test('a cwd removed before the first attach makes start throw (START_FAILED on the socket)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pty-gone-'))
    rmSync(dir, { recursive: true })
    const s = session(undefined, dir)
    expect(() => s.start('pty')).toThrow()
    expect(s.running).toBe(false)
  })
})

const probe = CgroupTree.open()
probe?.close()

// Confined as serve confines them: a leaf tells at once that nothing of a session runs.
describe.skipIf(probe === undefined)('an ended PtySession', () => {
  beforeAll(() => confineWithCgroups())
  afterAll(() => closeCgroups())
  for (const mode of ['pty', 'pipe'] as const) {
    test(`lets go of its process once nothing of it runs, and still says how it ended (${mode})`, async () => {
      const s = session('exit 3')
      s.start(mode)
      // Made in a frame of its own, so no stack slot of this one holds the process object.
      const ref = ((held: PtySession) => new WeakRef((held as unknown as { proc: { proc: object } }).proc.proc))(s)
      await s.ended
      expect([await collected(ref), s.started, s.running, s.exitCode, (s.pid ?? 0) > 0]).toEqual([
        true,
        true,
        false,
        3,
        true,
      ])
    })
  }
})
