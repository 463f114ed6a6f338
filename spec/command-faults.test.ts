/**
 * Faults around commands and sessions never take the daemon down: a removed or full temp dir
 * stops a log (said in the stream and the status) and the dirs are made again; two execd
 * sharing a TMPDIR from different PID namespaces keep each other's live dirs; timeouts of
 * 2^31 ms and more are not "now".
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import {
  BIN,
  NEW_PID_NAMESPACE,
  serveArgv,
  canUnshare,
  freePort,
  postJson,
  readSse,
  startDaemon,
  type Daemon,
  type SseFrame,
} from './harness'

const types = (frames: SseFrame[]) => frames.map(f => f.data.type)
const stdout = (frames: SseFrame[]) => frames.filter(f => f.data.type === 'stdout').map(f => f.data.text)

describe('a removed temp dir', () => {
  let d: Daemon
  let tmp: string
  beforeAll(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'execd-spec-faults-'))
    d = await startDaemon({ env: { TMPDIR: tmp } })
  })
  afterAll(async () => {
    await d?.stop()
    rmSync(tmp, { recursive: true, force: true })
  })

  test('a command that removes the command-log dir runs to its end, and its log is kept', async () => {
    await readSse(await postJson(d, '/command', { command: 'echo first' }))
    const frames = await readSse(await postJson(d, '/command', { command: 'rm -rf $TMPDIR/execd-commands-*; echo hi' }))
    expect(types(frames)).toEqual(['init', 'ping', 'stdout', 'execution_complete'])
    expect((await d.fetch('/ping')).status).toBe(200)
    expect(await (await d.fetch(`/command/${frames[0]?.data.text}/logs`)).text()).toBe('hi\n')
  })

  test('sessions survive their temp dir being removed, and new ones start', async () => {
    const { session_id } = await (await postJson(d, '/session', {})).json()
    await readSse(await postJson(d, `/session/${session_id}/run`, { command: 'rm -rf $TMPDIR/execd-sessions-*' }))
    expect(stdout(await readSse(await postJson(d, `/session/${session_id}/run`, { command: 'echo still' })))).toEqual([
      'still',
    ])
    const again = await postJson(d, '/session', {})
    expect(again.status).toBe(200)
    const { session_id: next } = await again.json()
    expect(stdout(await readSse(await postJson(d, `/session/${next}/run`, { command: 'echo new' })))).toEqual(['new'])
  })
})

/** A 1 MiB tmpfs, or why there is none (mounting needs root and a kernel that lets us). */
function smallTmpfs(): { dir: string; unmount(): void } | string {
  const dir = mkdtempSync(join(tmpdir(), 'execd-spec-full-'))
  const mount = Bun.spawnSync(['mount', '-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', dir], { stderr: 'pipe' })
  if (mount.exitCode !== 0) {
    rmSync(dir, { recursive: true, force: true })
    return `cannot mount a tmpfs here: ${mount.stderr.toString().trim()}`
  }
  return {
    dir,
    unmount: () => {
      Bun.spawnSync(['umount', '-l', dir])
      rmSync(dir, { recursive: true, force: true })
    },
  }
}

const tmpfs = smallTmpfs()
if (typeof tmpfs === 'string') console.warn(`skipped: a full disk (${tmpfs})`)

test.skipIf(typeof tmpfs === 'string')(
  'a full disk stops the log, says so in the stream and the status, and the daemon serves on',
  async () => {
    const fs = tmpfs as Exclude<typeof tmpfs, string>
    const d = await startDaemon({ env: { TMPDIR: fs.dir } })
    try {
      // 2 MB of output into a 1 MiB disk.
      const command =
        'for i in $(seq 20000); do echo xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx; done; echo done'
      const frames = await readSse(await postJson(d, '/command', { command }))
      const status = frames.find(f => f.data.type === 'status')
      expect(status?.data).toMatchObject({ text: 'log_truncated' })
      expect(status?.data.reason).toContain('ENOSPC')
      expect(frames.at(-1)!.data.type).toBe('execution_complete')
      expect(stdout(frames).at(-1)).toBe('done')
      const info = await (await d.fetch(`/command/status/${frames[0]?.data.text}`)).json()
      expect(info.log_truncated).toContain('ENOSPC')
      // The next command on the full disk: the same, not a crash.
      const next = await readSse(await postJson(d, '/command', { command: 'echo again' }))
      expect(stdout(next)).toEqual(['again'])
      expect((await d.fetch('/ping')).status).toBe(200)
    } finally {
      await d.stop()
      fs.unmount()
    }
  },
  30_000,
)

test.skipIf(!canUnshare)(
  "two execd sharing a TMPDIR from different PID namespaces keep each other's live dirs (needs root and unshare)",
  async () => {
    const tmp = mkdtempSync(join(tmpdir(), 'execd-spec-pidns-'))
    const port = await freePort()
    // The first execd runs in its own PID namespace under a pid that no process has here, so a
    // PID test from this namespace would call its live dir stale.
    const nsPid = unusedPid()
    const first = Bun.spawn(
      [
        ...NEW_PID_NAMESPACE,
        'bash',
        '-c',
        `echo ${nsPid - 1} > /proc/sys/kernel/ns_last_pid; "$@"; exit $?`,
        'ns-init',
        ...serveArgv(port),
      ],
      { stdout: 'ignore', stderr: 'ignore', env: { ...process.env, TMPDIR: tmp, EXECD_ACCESS_TOKEN: '' } },
    )
    let second: Daemon | undefined
    try {
      for (let i = 0; i < 400; i++) {
        const ok = await fetch(`http://127.0.0.1:${port}/ping`).then(
          r => r.status === 200,
          () => false,
        )
        if (ok) break
        await Bun.sleep(25)
      }
      const run = await fetch(`http://127.0.0.1:${port}/command`, {
        method: 'POST',
        body: JSON.stringify({ command: 'echo from-the-first' }),
      })
      const id = (await readSse(run))[0]?.data.text
      const firstDirs = readdirSync(tmp).filter(n => n.startsWith('execd-commands-'))
      expect(firstDirs.length).toBe(1)
      // The second one sweeps stale dirs when it makes its own.
      second = await startDaemon({ env: { TMPDIR: tmp } })
      await readSse(await postJson(second, '/command', { command: 'echo from-the-second' }))
      await Bun.sleep(200) // the sweep runs in the background
      expect(firstDirs.map(dir => existsSync(join(tmp, dir)))).toEqual([true])
      expect(await (await fetch(`http://127.0.0.1:${port}/command/${id}/logs`)).text()).toBe('from-the-first\n')
    } finally {
      await second?.stop()
      // unshare ignores SIGTERM while it waits: signal execd itself.
      const execd = pidsOf(`--port\0${port}\0`)
      for (const pid of execd) process.kill(pid, 'SIGTERM')
      if (execd.length === 0) first.kill('SIGKILL')
      await first.exited
      rmSync(tmp, { recursive: true, force: true })
    }
  },
  30_000,
)

/** A pid no process has in this namespace (high, to stay clear of the ones in use). */
function unusedPid(): number {
  const max = Number(readFileSync('/proc/sys/kernel/pid_max', 'latin1'))
  for (;;) {
    const pid = Math.floor(max / 2 + Math.random() * (max / 2 - 10))
    if (!existsSync(`/proc/${pid}`)) return pid
  }
}

/** Pids whose command line holds `needle` (NUL-separated arguments). */
function pidsOf(needle: string): number[] {
  return readdirSync('/proc')
    .filter(n => /^\d+$/.test(n))
    .filter(n => {
      try {
        const cmd = readFileSync(`/proc/${n}/cmdline`, 'latin1')
        return cmd.includes(needle) && cmd.startsWith(BIN)
      } catch {
        return false
      }
    })
    .map(Number)
}

test('a dir whose owner died is swept by the next execd', async () => {
  const tmp = mkdtempSync(join(tmpdir(), 'execd-spec-stale-'))
  try {
    const a = await startDaemon({ env: { TMPDIR: tmp } })
    await readSse(await postJson(a, '/command', { command: 'echo x' }))
    const [dir] = readdirSync(tmp).filter(n => n.startsWith('execd-commands-'))
    if (dir === undefined) throw new Error('the first daemon made no commands directory')
    a.proc.kill('SIGKILL')
    await a.proc.exited
    expect(existsSync(join(tmp, dir))).toBe(true)
    const b = await startDaemon({ env: { TMPDIR: tmp } })
    try {
      await readSse(await postJson(b, '/command', { command: 'echo y' }))
      for (let i = 0; i < 40 && existsSync(join(tmp, dir)); i++) await Bun.sleep(25)
      expect(existsSync(join(tmp, dir))).toBe(false)
    } finally {
      await b.stop()
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true })
  }
})

describe('timeouts of 2^31 ms and more are long timeouts, not "now"', () => {
  let d: Daemon
  beforeAll(async () => {
    d = await startDaemon()
  })
  afterAll(() => d?.stop())

  const BOUNDARIES = [2 ** 31 - 1, 2 ** 31, 3e9, 2 ** 53 - 1, 1e308]

  for (const timeout of BOUNDARIES) {
    test(`timeout ${timeout}: foreground, background and session runs finish normally`, async () => {
      const command = 'sleep 0.3; echo ok'
      const fg = await readSse(await postJson(d, '/command', { command, timeout }))
      expect(types(fg).at(-1)).toBe('execution_complete')
      expect(stdout(fg)).toEqual(['ok'])

      const bg = await readSse(await postJson(d, '/command', { command, timeout, background: true }))
      const id = bg[0]?.data.text
      let status: any
      for (let i = 0; i < 100; i++) {
        status = await (await d.fetch(`/command/status/${id}`)).json()
        if (!status.running) break
        await Bun.sleep(50)
      }
      expect(status).toMatchObject({ running: false, exit_code: 0 })

      const { session_id } = await (await postJson(d, '/session', {})).json()
      const run = await readSse(await postJson(d, `/session/${session_id}/run`, { command, timeout }))
      expect(types(run).at(-1)).toBe('execution_complete')
      expect(stdout(run)).toEqual(['ok'])
      await d.fetch(`/session/${session_id}`, { method: 'DELETE' })
    })
  }

  test('a negative timeout is a 400 on /command and on session runs', async () => {
    expect((await postJson(d, '/command', { command: 'true', timeout: -1 })).status).toBe(400)
    const { session_id } = await (await postJson(d, '/session', {})).json()
    expect((await postJson(d, `/session/${session_id}/run`, { command: 'true', timeout: -1 })).status).toBe(400)
  })
})

// A tmpfs mount point must not outlive the file if a test above threw before its finally.
afterAll(() => {
  if (typeof tmpfs !== 'string' && existsSync(tmpfs.dir)) tmpfs.unmount()
})
