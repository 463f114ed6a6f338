/**
 * A one-shot `execd exec <language> CODE` ends as the language's own command line does:
 * `python3 -c`, `node -e`, `bash -c`, run here beside it. `sys.exit(3)` exited 1 with a
 * SystemExit traceback (the context catches it and keeps its state, as Jupyter does; the wire
 * still does), and `process.exit(3)`, `exit 3` said `exit status 3` where the language says
 * nothing. Here and with --url.
 */
import { describe, expect, test } from 'bun:test'
import { spawnSync } from 'node:child_process'
import { runCli } from './harness'
import { daemonAlone } from './kit/daemon-dir'
import { pythonAvailable } from './python-env'

const PYTHON = process.env.EXECD_PYTHON ?? '/usr/bin/python3'
const node = Bun.which('node')

const fx = daemonAlone()

const TIMER_SETS_STATUS = 'setTimeout(() => { console.log("late"); process.exitCode = 4 }, 300); console.log("now")'

/** [language, its own command line, code] */
const CASES: [string, string[] | undefined, string][] = [
  ...(pythonAvailable === true
    ? ([
        'import sys; sys.exit(3)',
        'import sys; sys.exit(0)',
        'import sys; sys.exit()',
        'import sys; sys.exit(None)',
        "import sys; sys.exit('bye: no input')",
        // A string's text reads as a number's, or None's: the context is asked what it was.
        "import sys; sys.exit('3')",
        "import sys; sys.exit('')",
        "import sys; sys.exit('None')",
        "import sys; sys.exit('False')",
        'import sys; sys.exit(False)',
        'exit(4)',
        'print("a"); quit()',
        'import sys; sys.exit(256)',
        'import sys; sys.exit(-1)',
        'import sys; sys.exit(True)',
        'raise SystemExit(5)',
        'import os; os._exit(6)',
      ].map(code => ['python', [PYTHON, '-c'], code]) as [string, string[], string][])
    : []),
  ['javascript', node ? [node, '-e'] : undefined, 'process.exit(3)'],
  ['javascript', node ? [node, '-e'] : undefined, 'console.log("a"); process.exit()'],
  // process.exitCode is no event: the context is asked after the cell.
  ['javascript', node ? [node, '-e'] : undefined, 'process.exitCode = 4; console.log("a")'],
  ['javascript', node ? [node, '-e'] : undefined, 'process.exitCode = 300; console.log("a")'],
  ['typescript', node ? [node, '-e'] : undefined, 'process.exitCode = 4; console.log("a")'],
  ['javascript', node ? [node, '-e'] : undefined, 'console.log("a")'],
  // The cell's pending timers are waited for, as node's loop waits: the run ended at the last
  // statement, losing "late" and the status (0).
  ['javascript', node ? [node, '-e'] : undefined, TIMER_SETS_STATUS],
  ['typescript', node ? [node, '-e'] : undefined, TIMER_SETS_STATUS],
  [
    'javascript',
    node ? [node, '-e'] : undefined,
    'let n = 0; const t = setInterval(() => { console.log(n); if (++n === 3) clearInterval(t) }, 50); void 0',
  ],
  [
    'javascript',
    node ? [node, '-e'] : undefined,
    'setTimeout(() => setTimeout(() => process.exit(5), 50), 50); void 0',
  ],
  // Cleared by its number, as node's timers are too (from its own tick: a second timer racing
  // it printed one tick or two under load).
  [
    'javascript',
    node ? [node, '-e'] : undefined,
    'let n = 0; const t = setInterval(() => { console.log("tick"); if (++n === 2) clearInterval(+t) }, 20); void 0',
  ],
  // An unref'd timer keeps neither waiting.
  ['javascript', node ? [node, '-e'] : undefined, 'setTimeout(() => console.log("no"), 60000).unref(); void 0'],
  ['bash', ['bash', '-c'], 'exit 3'],
  ['bash', ['bash', '-c'], 'echo a; false'],
]

describe('a one-shot exec ends as the language’s own command line does', () => {
  for (const [language, own, code] of CASES) {
    test.skipIf(!own)(`${language} ${code}`, async () => {
      const ran = spawnSync(own![0]!, [...own!.slice(1), code], { encoding: 'utf8' })
      const want = { code: ran.status, stdout: ran.stdout, stderr: ran.stderr }
      for (const remote of [false, true]) {
        const r = await runCli(['exec', language, code, ...(remote ? ['--url', fx.d.url] : [])], {
          env: remote ? { EXECD_ACCESS_TOKEN: fx.d.token } : {},
        })
        expect([remote ? 'url' : 'local', r]).toEqual([remote ? 'url' : 'local', want])
      }
    })
  }

  test('an error thrown in a timer the run waits for ends it with 1, as it ends node', async () => {
    for (const code of [
      'setTimeout(() => { throw new Error("boom") }, 50); setTimeout(() => console.log("never"), 2000); void 0',
      // The last timer: its end woke the wait before its error came (exit 0, nothing said).
      'setTimeout(() => { throw new Error("boom") }, 300); void 0',
    ]) {
      for (const remote of [false, true]) {
        const r = await runCli(['exec', 'javascript', code, ...(remote ? ['--url', fx.d.url] : [])], {
          env: remote ? { EXECD_ACCESS_TOKEN: fx.d.token } : {},
        })
        // Said as the error of the wait, or as the driver's `Uncaught` when it fired before the wait.
        expect([code, remote, r.code, r.stdout, r.stderr.includes('boom')]).toEqual([code, remote, 1, '', true])
      }
    }
  }, 60_000)

  test.skipIf(pythonAvailable !== true)(
    'over HTTP a context still catches SystemExit and keeps its state',
    async () => {
      const res = await fx.d.fetch('/code/context', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ language: 'python' }),
      })
      const { id } = (await res.json()) as { id: string }
      const run = async (code: string) =>
        await (
          await fx.d.fetch('/code', {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ code, context: { id } }),
          })
        ).text()
      expect(await run('x = 41\nimport sys; sys.exit(3)')).toContain('"ename":"SystemExit"')
      expect(await run('print(x + 1)')).toContain('42')
      await fx.d.fetch(`/code/contexts/${id}`, { method: 'DELETE' })
    },
  )
})
