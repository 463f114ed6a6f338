/**
 * `execd serve -- <command>`: the container's own entrypoint. The main process gets the
 * signals, execd follows it out with its status, `/ping` answers meanwhile, nothing is left;
 * and `execd ping`, the exec readiness probe.
 */
import { expect, test } from 'bun:test'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { BIN, NEW_PID_NAMESPACE, canUnshare, freePort, pidsWith, runCli, serveArgv, waitFor } from './harness'

/** A main process that traps SIGTERM: it stops its own job, writes a marker, exits 3. */
const trapping = (marker: string, sleep: string) =>
  `trap 'kill $job; echo "got TERM" > ${marker}; exit 3' TERM; echo "main-started token=\${EXECD_ACCESS_TOKEN:-none}"; sleep ${sleep} & job=$!; wait $job`

/** Live pids running exactly `sleep <duration>` (the scripts that start them mention it too). */
const sleeping = (duration: string) =>
  pidsWith(`sleep ${duration}`).filter(
    p => readFileSync(`/proc/${p}/cmdline`, 'latin1').replaceAll('\0', ' ').trim() === `sleep ${duration}`,
  )

/** A sleep no other process runs, to find it in /proc. */
const uniqueSleep = () => `${300 + Math.floor(Math.random() * 1000)}.${Date.now() % 1000}`

interface Started {
  proc: ReturnType<typeof Bun.spawn>
  url: string
  token: string
  stdout: Promise<string>
}

async function serveWith(main: string[], prefix: string[] = [], env: Record<string, string> = {}): Promise<Started> {
  const port = await freePort()
  const token = `t-${crypto.randomUUID()}`
  const proc = Bun.spawn([...prefix, ...serveArgv(port), '--', ...main], {
    stdin: 'ignore',
    stdout: 'pipe',
    stderr: 'pipe',
    env: { ...process.env, EXECD_ACCESS_TOKEN: token, ...env },
  })
  const url = `http://127.0.0.1:${port}`
  await waitFor('execd to answer /ping', async () =>
    fetch(`${url}/ping`, { headers: { 'X-EXECD-ACCESS-TOKEN': token } }).then(
      r => r.status === 200,
      () => false,
    ),
  )
  return { proc, url, token, stdout: new Response(proc.stdout as ReadableStream).text() }
}

test('execd forwards SIGTERM to the main process and exits with its status; /ping answers meanwhile', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'execd-entry-'))
  const tag = `entry-${crypto.randomUUID()}`
  const marker = join(dir, 'marker')
  const sleep = uniqueSleep()
  let s: Started | undefined
  try {
    s = await serveWith(['bash', '-c', trapping(marker, sleep), tag])
    // The main process runs beside the daemon (started once it listens): its job shows its trap is set.
    await waitFor('the main process to start its job', () => sleeping(sleep).length === 1)
    // The probe verb against the same daemon: the token from the environment, 0 then 1 without it.
    const port = new URL(s.url).port
    expect((await runCli(['ping', '--port', port], { env: { EXECD_ACCESS_TOKEN: s.token } })).code).toBe(0)
    const refused = await runCli(['ping', '--port', port])
    expect(refused.code).toBe(1)
    expect(refused.stderr).toContain('401')
    s.proc.kill('SIGTERM')
    expect(await s.proc.exited).toBe(3)
    expect(readFileSync(marker, 'utf8')).toBe('got TERM\n')
    expect(await s.stdout).toBe('main-started token=none\n') // the main process writes to execd's stdout
    expect(pidsWith(tag)).toEqual([])
    expect(sleeping(sleep)).toEqual([])
    await fetch(`${s.url}/ping`).then(
      () => expect.unreachable('execd still answers'),
      () => {},
    )
  } finally {
    s?.proc.kill('SIGKILL')
    rmSync(dir, { recursive: true, force: true })
  }
})

test('SIGHUP, SIGINT, SIGQUIT, SIGUSR1, SIGUSR2 and SIGWINCH reach the main process too', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'execd-entry-'))
  const seen = join(dir, 'seen')
  const sleep = uniqueSleep()
  const signals = ['HUP', 'INT', 'QUIT', 'USR1', 'USR2', 'WINCH'] as const
  const traps = signals.map(sig => `trap 'echo ${sig} >> ${seen}' ${sig};`).join(' ')
  let s: Started | undefined
  try {
    s = await serveWith([
      'bash',
      '-c',
      `${traps} trap 'kill $job; exit 0' TERM; sleep ${sleep} & job=$!; while :; do wait $job; done`,
    ])
    await waitFor('the main process to start its job', () => sleeping(sleep).length === 1)
    for (const sig of signals) {
      s.proc.kill(`SIG${sig}`)
      await waitFor(
        `${sig} to reach the main process`,
        () => existsSync(seen) && readFileSync(seen, 'utf8').includes(sig),
      )
    }
    expect(await fetch(`${s.url}/ping`, { headers: { 'X-EXECD-ACCESS-TOKEN': s.token } }).then(r => r.status)).toBe(200)
    s.proc.kill('SIGTERM')
    expect(await s.proc.exited).toBe(0)
    expect(readFileSync(seen, 'utf8')).toBe(signals.map(sig => `${sig}\n`).join(''))
  } finally {
    s?.proc.kill('SIGKILL')
    rmSync(dir, { recursive: true, force: true })
  }
})

test('SIGALRM, SIGVTALRM and SIGPROF are ignored; SIGXCPU asks the main process to end as SIGTERM does', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'execd-entry-'))
  const marker = join(dir, 'marker')
  const sleep = uniqueSleep()
  let s: Started | undefined
  try {
    s = await serveWith(['bash', '-c', trapping(marker, sleep)])
    await waitFor('the main process to start its job', () => sleeping(sleep).length === 1)
    for (const signal of ['SIGALRM', 'SIGVTALRM', 'SIGPROF'] as const) {
      s.proc.kill(signal)
      await Bun.sleep(100)
      const ping = await fetch(`${s.url}/ping`, { headers: { 'X-EXECD-ACCESS-TOKEN': s.token } }).then(r => r.status)
      expect({ signal, ping, main: sleeping(sleep).length }).toEqual({ signal, ping: 200, main: 1 })
    }
    // Left to its default action it killed execd (152) and left the main process running alone.
    s.proc.kill('SIGXCPU')
    expect(await s.proc.exited).toBe(3)
    expect(readFileSync(marker, 'utf8')).toBe('got TERM\n')
    expect(sleeping(sleep)).toEqual([])
  } finally {
    s?.proc.kill('SIGKILL')
    for (const pid of sleeping(sleep)) process.kill(pid, 'SIGKILL')
    rmSync(dir, { recursive: true, force: true })
  }
})

test('a main process that exits on its own ends execd with its status; a signal death is 128+n', async () => {
  const run = (main: string) =>
    Bun.spawn([BIN, 'serve', '--port', '0', '--host', '127.0.0.1', '--', 'bash', '-c', main], {
      stdout: 'ignore',
      stderr: 'ignore',
      env: { ...process.env, EXECD_ACCESS_TOKEN: '' },
    }).exited
  expect(await run('exit 7')).toBe(7)
  expect(await run('kill -USR1 $$')).toBe(128 + 10)
})

test.each([
  ['no-such-command-xyz', 127, 'no-such-command-xyz: command not found'],
  ['/no/such/file', 127, '/no/such/file: no such file or directory'],
  ['/etc/passwd', 126, '/etc/passwd: permission denied'],
  ['/', 126, '/: is a directory'],
] as const)('a main process %p that cannot start: one line, %p, before execd listens', async (command, status, why) => {
  const port = await freePort()
  const p = Bun.spawnSync([...serveArgv(port), '--', command], {
    env: { ...process.env, EXECD_ACCESS_TOKEN: '' },
  })
  expect({ status: p.exitCode, stderr: p.stderr.toString(), stdout: p.stdout.toString() }).toEqual({
    status,
    stderr: `execd: cannot start the main process: ${why}\n`,
    stdout: '',
  })
})

test.skipIf(!canUnshare)(
  'as PID 1, leftovers of the main process are ended before execd exits (root, unshare)',
  async () => {
    const tag = `entry-${crypto.randomUUID()}`
    // The main process leaves a job behind, ignoring nothing: it must not outlive execd.
    const [left, main] = [uniqueSleep(), uniqueSleep()]
    const s = await serveWith(
      ['bash', '-c', `sleep ${left} & echo started; exec sleep ${main}`, tag],
      NEW_PID_NAMESPACE,
    )
    await waitFor('the main process and its job', () => sleeping(left).length + sleeping(main).length === 2)
    const execd = pidsWith(`${BIN} serve --port ${new URL(s.url).port}`).find(p => p !== s.proc.pid)!
    expect(execd).toBeGreaterThan(0)
    // unshare does not forward signals to the namespace's init: signal execd itself.
    process.kill(execd, 'SIGINT')
    expect(await s.proc.exited).toBe(128 + 2)
    expect(sleeping(left)).toEqual([])
    expect(sleeping(main)).toEqual([])
    expect(existsSync(`/proc/${execd}`)).toBe(false)
  },
)

test('a main process that ignores SIGTERM is killed with its descendants after the grace; execd exits saying so', async () => {
  const tag = `entry-${crypto.randomUUID()}`
  const sleep = uniqueSleep()
  let s: Started | undefined
  try {
    // sh's `sleep` is its child: a kill of the main process alone would leave it running.
    s = await serveWith(['sh', '-c', `trap "" TERM; sleep ${sleep}; echo ${tag}`], [], {
      EXECD_MAIN_STOP_GRACE_MS: '3000',
    })
    await waitFor('the main process to start its sleep', () => sleeping(sleep).length === 1)
    const stderr = new Response(s.proc.stderr as ReadableStream).text()
    s.proc.kill('SIGTERM')
    // A bound for a build that never ends it (13× the grace), not a measure: 128 + SIGKILL.
    const ended = await Promise.race([s.proc.exited, Bun.sleep(40_000).then(() => 'still running')])
    expect(ended).toBe(137)
    const lines = (await stderr).split('\n').filter(l => l.includes('did not exit within'))
    expect(lines).toHaveLength(1)
    expect(JSON.parse(lines[0]!).msg).toBe(
      'the main process did not exit within 3000 ms of SIGTERM: killing it and its descendants',
    )
    expect(pidsWith(tag)).toEqual([])
    expect(sleeping(sleep)).toEqual([])
  } finally {
    s?.proc.kill('SIGKILL')
    for (const pid of s ? sleeping(sleep) : []) process.kill(pid, 'SIGKILL')
  }
}, 60_000)
