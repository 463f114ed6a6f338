/**
 * A one-shot `execd exec javascript CODE` ends as `node -e CODE` does, run here beside it: once
 * the program's work is done, not only its timers. A socket, `timers/promises`, a child process
 * or a pending fetch was cut off at the cell's last statement (status 0, their output lost). It
 * prints what node prints: not its last expression's value (`Timeout {}`), nor anything on
 * Ctrl-C (130). Here and with --url.
 */
import { describe, expect, test } from 'bun:test'
import { spawnSync } from 'node:child_process'
import { pidsWith, runCli, spawnCli, waitFor } from './harness'
import { daemonAlone } from './kit/daemon-dir'

const node = Bun.which('node')
const fx = daemonAlone()

const run = (code: string, remote: boolean) =>
  runCli(['exec', 'javascript', code, ...(remote ? ['--url', fx.d.url] : [])], {
    env: remote ? { EXECD_ACCESS_TOKEN: fx.d.token } : {},
  })

const SERVER_AND_CLIENT = `const net = require("node:net")
const s = net.createServer(c => c.end("hi")).listen(0, "127.0.0.1", () => {
  net.connect(s.address().port, "127.0.0.1").on("data", b => { console.log(String(b)); s.close(); process.exitCode = 6 })
})`

/** Work other than a timer, each compared with node's own run of it. */
const LIKE_NODE = [
  'require("node:timers/promises").setTimeout(200).then(() => { console.log("late"); process.exitCode = 3 }); void 0',
  SERVER_AND_CLIENT,
  'require("node:child_process").spawn("sh", ["-c", "sleep 0.2; exit 5"]).on("exit", c => { console.log("child", c); process.exitCode = c })',
  'fetch("http://127.0.0.1:1/").catch(() => { console.log("refused"); process.exitCode = 7 }); void 0',
  // The last expression's value is node's to drop: `Timeout {}` was printed.
  'setTimeout(() => {}, 50)',
  '6 * 7',
  // An error that comes after the cell's end fails the run with its words, as node's.
  'setTimeout(() => { throw new Error("boom") }, 20); setTimeout(() => console.log("never"), 20000); void 0',
]

describe('a one-shot javascript run ends and prints as node -e does', () => {
  for (const code of LIKE_NODE) {
    test.skipIf(!node)(
      code.split('\n')[0]!,
      async () => {
        const ran = spawnSync(node!, ['-e', code], { encoding: 'utf8' })
        for (const remote of [false, true]) {
          const r = await run(code, remote)
          // node's words for an error are its own (its frames, `Node.js v…`): that some are said is the point.
          const said = (s: string) => (/error: boom/i.test(s) ? 'boom' : s)
          expect([remote, r.code, r.stdout, said(r.stderr)]).toEqual([remote, ran.status, ran.stdout, said(ran.stderr)])
        }
      },
      60_000,
    )
  }

  test('Bun.sleep is waited for too', async () => {
    for (const remote of [false, true]) {
      const r = await run('Bun.sleep(200).then(() => { console.log("slept"); process.exitCode = 2 }); void 0', remote)
      expect([remote, r]).toEqual([remote, { code: 2, stdout: 'slept\n', stderr: '' }])
    }
  }, 60_000)

  test('--json: a run that succeeds has no error event (its interpreter exit after the work is the end), nothing after its end', async () => {
    // The wait's end, the interpreter's exit with status 0, was printed as an error event:
    // `DeadKernelError`, `the javascript interpreter died (exit status 0)`, after every success.
    // And the wait's own `ping` came after the cell's `execution_complete`.
    for (const remote of [false, true]) {
      const r = await runCli(
        ['exec', 'javascript', '--json', 'console.log(5)', ...(remote ? ['--url', fx.d.url] : [])],
        { env: remote ? { EXECD_ACCESS_TOKEN: fx.d.token } : {} },
      )
      const types = r.stdout
        .trim()
        .split('\n')
        .map(line => (JSON.parse(line) as { type: string }).type)
      expect([remote, r.code, types.filter(t => t !== 'ping'), types.at(-1), r.stderr]).toEqual([
        remote,
        0,
        ['init', 'stdout', 'execution_count', 'execution_complete'],
        'execution_complete',
        '',
      ])
    }
  }, 60_000)

  test('Ctrl-C says nothing and exits 130, in the cell and in the wait after it; no interpreter is left', async () => {
    for (const remote of [false, true]) {
      for (const code of [
        'console.log("ready"); await Bun.sleep(300000)',
        'console.log("ready"); setInterval(() => {}, 1000); void 0',
      ]) {
        const p = spawnCli(['exec', 'javascript', code, ...(remote ? ['--url', fx.d.url] : [])], {
          env: remote ? { EXECD_ACCESS_TOKEN: fx.d.token } : {},
        })
        const reader = p.stdout.getReader()
        expect(new TextDecoder().decode((await reader.read()).value)).toBe('ready\n')
        p.kill('SIGINT')
        const stopped = { code: await p.exited, stderr: await new Response(p.stderr).text() }
        expect([remote, code, stopped]).toEqual([remote, code, { code: 130, stderr: '' }])
        // Here the driver runs from the CLI's own files, through its descriptor (argv names
        // /proc/<cli>/fd/<n>/driver.ts); there, as the daemon's child.
        const drivers = () => (remote ? pidsWith('driver.ts', fx.d.proc.pid) : pidsWith(`/proc/${p.pid}/fd/`))
        await waitFor('the interpreter gone', () => drivers().length === 0)
      }
    }
  }, 60_000)
})
