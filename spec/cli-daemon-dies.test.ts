/**
 * The daemon behind `--url` dies while a run streams (killed, its machine gone): the verb ends
 * with one line in a person's words, exit 1, as `metrics --watch` says it. A cell and a command
 * said Bun's: `execd: http://127.0.0.1:PORT/code: error ECONNRESET`. Stopped (SIGTERM), the
 * daemon ends the run's stream with its `ServerShutdown` error: said in the same words' way, where
 * a cell printed the wire's `execd is shutting down` bare (as if its code had) and a command
 * `execd: execd is shutting down`.
 */
import { afterAll, expect, test } from 'bun:test'
import { mkdtempSync, readdirSync, rmSync, truncateSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { BIN, pidsWith, spawnCli, startDaemon, waitFor, type Daemon } from './harness'
import { pythonAvailable } from './python-env'

// What the killed daemons left running (their children outlive a SIGKILL): ended here. Their
// temp dirs too: a killed execd's dirs go only when a later one makes its own (core/temp-dir.ts),
// so in the shared TMPDIR the last case's were left to the next file's daemons, and this file
// run alone failed the temp-dir guard (spec/tmp-guard.ts) every time.
const markers: string[] = []
const tmp = mkdtempSync(join(tmpdir(), 'daemon-dies-'))
afterAll(() => {
  for (const m of markers) for (const pid of pidsWith(m)) process.kill(pid, 'SIGKILL')
  rmSync(tmp, { recursive: true, force: true })
})

const CASES: [string, (marker: string) => string[], string, boolean][] = [
  ['a command', m => ['--shell', `echo ready; exec -a ${m} sleep 60`], 'while the command ran', true],
  [
    'a python cell',
    m => ['python', `import time\n${m} = 1\nprint("ready", flush=True)\ntime.sleep(60)`],
    'while the cell ran',
    pythonAvailable === true,
  ],
]

/** `exec --url` of a case's code, once it has printed `ready`. */
async function runningAgainst(d: Daemon, words: (marker: string) => string[], prefix: string) {
  const marker = `${prefix}${crypto.randomUUID().slice(0, 8)}`
  markers.push(marker)
  const p = spawnCli(['exec', ...words(marker), '--url', d.url], { env: { EXECD_ACCESS_TOKEN: d.token } })
  const reader = p.stdout.getReader()
  expect(new TextDecoder().decode((await reader.read()).value)).toBe('ready\n')
  return p
}

for (const [what, words, doing, runs] of CASES) {
  test.skipIf(!runs)(
    `${what}: one line naming the daemon, exit 1`,
    async () => {
      const d = await startDaemon({ env: { TMPDIR: tmp } })
      const p = await runningAgainst(d, words, 'execd_daemon_dies_')
      d.proc.kill('SIGKILL')
      const [code, stderr] = await Promise.all([p.exited, new Response(p.stderr).text()])
      expect([code, stderr]).toEqual([1, `execd: lost the connection to ${d.url} ${doing} (did the daemon stop?)\n`])
    },
    60_000,
  )
}

for (const [what, words, doing, runs] of CASES) {
  test.skipIf(!runs)(
    `${what}, the daemon stopped: one line saying so, exit 1`,
    async () => {
      const d = await startDaemon()
      const p = await runningAgainst(d, words, 'execd_daemon_stops_')
      d.proc.kill('SIGTERM')
      const [code, stderr] = await Promise.all([p.exited, new Response(p.stderr).text()])
      expect([code, stderr]).toEqual([1, `execd: the daemon shut down ${doing}\n`])
      await d.proc.exited
    },
    60_000,
  )
}

// A file's bytes cut midway: said as a run's are. `fs cat` (and `get`) said Bun's
// `execd: http://…/files/download?path=…: error ECONNRESET`; `fs put` said the daemon was
// never reached (`the connection closed before an answer (is it execd there? …)`).
test('fs cat: the daemon killed midway through the file is said in one line, exit 1', async () => {
  const file = join(tmp, 'big.bin')
  // Sparse: read as zeros, no disk.
  writeFileSync(file, '')
  truncateSync(file, 512 * 1024 * 1024)
  const d = await startDaemon({ env: { TMPDIR: tmp } })
  const p = spawnCli(['fs', 'cat', file, '--url', d.url], { env: { EXECD_ACCESS_TOKEN: d.token } })
  // The first bytes have come; the rest wait for a reader (the pipe, the sockets are full).
  const reader = p.stdout.getReader()
  expect(((await reader.read()).value?.length ?? 0) > 0).toBe(true)
  d.proc.kill('SIGKILL')
  await d.proc.exited
  while (!(await reader.read()).done);
  const [code, stderr] = await Promise.all([p.exited, new Response(p.stderr).text()])
  expect([code, stderr]).toEqual([
    1,
    `execd: lost the connection to ${d.url} during the download (did the daemon stop?)\n`,
  ])
  rmSync(file)
}, 60_000)

test('fs put: the daemon killed midway through the upload is said in one line, exit 1', async () => {
  const dest = mkdtempSync(join(tmp, 'put-'))
  const d = await startDaemon({ env: { TMPDIR: tmp } })
  const p = Bun.spawn([BIN, 'fs', 'put', '-', join(dest, 'up.bin'), '--url', d.url], {
    stdin: 'pipe',
    stdout: 'pipe',
    stderr: 'pipe',
    env: { ...process.env, EXECD_ACCESS_TOKEN: d.token },
  })
  p.stdin.write(new Uint8Array(1024 * 1024))
  await p.stdin.flush()
  // The daemon stages the upload beside its destination: it has begun taking it.
  await waitFor('the upload staged', () => readdirSync(dest).length > 0)
  d.proc.kill('SIGKILL')
  await d.proc.exited
  p.stdin.end()
  const [code, stderr] = await Promise.all([p.exited, new Response(p.stderr).text()])
  expect([code, stderr]).toEqual([
    1,
    `execd: lost the connection to ${d.url} during the upload (did the daemon stop?)\n`,
  ])
}, 60_000)
