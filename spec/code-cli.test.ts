/** `execd exec <language>`: the same runtime as /code, without HTTP, through dist/execd. */
import { afterAll, describe, expect, test } from 'bun:test'
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { BIN, pidsWith, runCli, runCliSync, waitFor, type CliOptions, type CliRun } from './harness'
import { hasModule, pythonAvailable } from './python-env'
import { ownMarker } from './kit/own-pids'

const execd = (args: string[], opts: CliOptions = {}) => runCliSync(['exec', ...args], opts)

const matplotlib = hasModule('matplotlib')

// Every temp dir a test makes is removed with the file's tests.
const dirs: string[] = []
const tempDir = (): string => {
  const dir = mkdtempSync(join(tmpdir(), 'execd-cli-'))
  dirs.push(dir)
  return dir
}
afterAll(() => dirs.forEach(d => rmSync(d, { recursive: true, force: true })))

describe.skipIf(pythonAvailable !== true)('execd exec python', () => {
  test('prints output and what display() shows, not the last value (as python3 -c), exit 0', () => {
    const r = execd(['python', 'x = 41\nprint("hello")\ndisplay(x + 1)\nx + 2'])
    expect(r).toMatchObject({ code: 0, stdout: 'hello\n42\n' })
  })

  test('an error prints its traceback on stderr and exits 1', () => {
    const r = execd(['python', 'def f():\n    raise ValueError("nope")\nf()'])
    expect(r.code).toBe(1)
    expect(r.stderr).toContain('ValueError: nope')
    expect(r.stderr).toContain('raise ValueError("nope")')
  })

  test('reads the code from stdin with - and from a file with -f', () => {
    expect(execd(['python', '-'], { stdin: 'print(6 * 7)' }).stdout).toBe('42\n')
    const dir = tempDir()
    Bun.write(join(dir, 'cell.py'), 'print("from file")')
    expect(execd(['python', '-f', join(dir, 'cell.py')]).stdout).toBe('from file\n')
  })

  test('--json prints the event stream as JSON lines', () => {
    const r = execd(['python', '--json', 'print(1)\n2'])
    const events = r.stdout
      .trim()
      .split('\n')
      .map(l => JSON.parse(l))
    expect(events.map(e => e.type)).toEqual([
      'init',
      'ping',
      'stdout',
      'execution_count',
      'result',
      'execution_complete',
    ])
    expect(events[4].results.text).toBe('2')
  })

  test('no language, or an unknown one, is a usage error (exit 2) naming the available ones in one line', () => {
    expect(execd([]).code).toBe(2)
    const r = execd(['cobol', '1'])
    expect(r.code).toBe(2)
    expect(r.stderr).toStartWith("execd: unknown language 'cobol'")
    expect(r.stderr).toContain('python')
    expect(r.stderr.trim().split('\n')).toHaveLength(1)
  })

  test('-f - and --file - read the code from stdin', () => {
    for (const flag of ['-f', '--file']) {
      expect(execd(['python', flag, '-'], { stdin: 'print(6 * 7)' })).toMatchObject({ code: 0, stdout: '42\n' })
    }
  })

  test('every runtime option serve takes is accepted (--python picks the interpreter)', () => {
    // Taken, and the interpreter it names is not there: the thing is wrong (1), not the typing.
    const r = execd(['python', '--python', '/no/such/python3', 'print(1)'])
    expect(r.code).toBe(1)
    // One plain line naming the interpreter and what sets it: Node's words for the spawn
    // (`ENOENT: no such file or directory, posix_spawn '/no/such/python3'`) named a system call.
    expect(r.stderr).toMatch(
      /^execd: language 'python' is not available here \(\/no\/such\/python3 not found: set --python or EXECD_PYTHON to a python 3\.8 or later\); available languages: [a-z, ]+\n$/,
    )
    const unrunnable = execd(['python', '--python', '/etc', 'print(1)'])
    expect(unrunnable.code).toBe(1)
    expect(unrunnable.stderr).toContain('(/etc cannot be run (permission denied): set --python or EXECD_PYTHON')
    expect(execd(['python', '--python-spare', 'x', '1']).code).toBe(2)
  })

  test('an interrupted cell (SIGINT) ends with 130, SIGTERM and SIGHUP with 143 and 129, no interpreter left', async () => {
    for (const [signal, status] of [
      ['SIGINT', 130],
      ['SIGTERM', 143],
      ['SIGHUP', 129],
    ] as const) {
      const marker = ownMarker(`execd_cli_signal_${signal}_`)
      const p = Bun.spawn(
        [BIN, 'exec', 'python', `import time\n${marker} = 1\nprint("ready", flush=True)\ntime.sleep(300)`],
        {
          stdout: 'pipe',
          stderr: 'pipe',
        },
      )
      const reader = p.stdout.getReader()
      expect(new TextDecoder().decode((await reader.read()).value)).toBe('ready\n')
      p.kill(signal)
      expect([signal, await p.exited]).toEqual([signal, status])
      await waitFor(`no interpreter of ${signal} left`, () => pidsWith(marker).length === 0)
    }
  }, 120_000)

  test("a bash cell interrupted (SIGINT, --timeout) says so in one line, without execd's error class", async () => {
    // The fuzz of the CLI (spec/fuzz/cli-cases.ts): the shell's 'signal: interrupt' came with
    // 'CommandExecError: 130' under it.
    const p = Bun.spawn([BIN, 'exec', 'bash', 'echo ready; sleep 300'], { stdout: 'pipe', stderr: 'pipe' })
    const reader = p.stdout.getReader()
    expect(new TextDecoder().decode((await reader.read()).value)).toBe('ready\n')
    p.kill('SIGINT')
    expect(await p.exited).toBe(130)
    expect(await new Response(p.stderr).text()).toBe('execd: signal: interrupt\n')
    // --timeout's own status and line, as every verb's (spec/cli-timeout.test.ts), also when its
    // interrupt lands before the new shell has read the run's line (core/live-bash/code-file.ts):
    // that left bash's `Killed` of the sleep the grace killed (1 run in 3 at `--timeout 1`).
    const timed = execd(['bash', '--timeout', '300', 'sleep 300'])
    expect(timed.code).toBe(124)
    expect(timed.stderr).toBe('execd: timed out after 300 ms (the cell was interrupted)\n')
  }, 60_000)

  test("a second signal gives up at once, and the shell's code file goes with execd", async () => {
    // The CLI fuzz: a SIGINT as the shell started, or a second one while its cell ignored the
    // first, exited without closing the shell and left execd-bash-<nonce>.sh in TMPDIR.
    const tmp = tempDir()
    const marker = ownMarker('execd_cli_second_signal_')
    const p = Bun.spawn([BIN, 'exec', 'bash', `trap '' INT; echo ready; sleep 300 # ${marker}`], {
      stdout: 'pipe',
      stderr: 'pipe',
      env: { ...process.env, TMPDIR: tmp },
    })
    const reader = p.stdout.getReader()
    expect(new TextDecoder().decode((await reader.read()).value)).toBe('ready\n')
    p.kill('SIGINT')
    // The cell ignores it: execd waits for the cell, and the second signal ends it.
    await Bun.sleep(300)
    p.kill('SIGTERM')
    expect(await p.exited).toBe(143)
    const left = (dir: string): string[] =>
      readdirSync(dir, { withFileTypes: true }).flatMap(e =>
        e.isDirectory() ? left(join(dir, e.name)) : [join(dir, e.name)],
      )
    expect(left(tmp)).toEqual([])
    await waitFor('no shell left', () => pidsWith(marker).length === 0)
  }, 60_000)

  test.skipIf(!Bun.which('go'))('a run leaves nothing in TMPDIR, not even the empty cache dir of the go probe', () => {
    // Each exec asks every runtime whether it is there; go's answer made $TMPDIR/execd-<uid>
    // (the go and java build caches), left empty by every `execd exec bash`.
    const tmp = tempDir()
    expect(execd(['bash', 'echo hi'], { env: { TMPDIR: tmp } })).toMatchObject({ code: 0, stdout: 'hi\n' })
    expect(readdirSync(tmp)).toEqual([])
  })

  test('--list shows python and whether it is available', () => {
    const r = execd(['--list', '--json'])
    const languages = r.stdout
      .trim()
      .split('\n')
      .map(l => JSON.parse(l))
    expect(languages.find(l => l.language === 'python')).toMatchObject({ available: true })
  })

  test.skipIf(matplotlib !== true)(
    `images are written to files and their paths printed${matplotlib === true ? '' : ` (skipped: ${matplotlib})`}`,
    () => {
      const dir = tempDir()
      const r = execd(['python', 'import matplotlib.pyplot as plt\nplt.plot([1, 2])\nplt.show()'], { cwd: dir })
      expect(r.code).toBe(0)
      const path = r.stdout.match(/written to (\S+)\]/)?.[1]
      expect(path && existsSync(path)).toBe(true)
      expect(readFileSync(path!).subarray(1, 4).toString()).toBe('PNG')
    },
    30_000,
  )
})

describe('execd exec sql', () => {
  test('rows print as a table, --json as events; an error says what SQLite said', () => {
    const r = execd(['sql', "select 1 as n, 'x' as name union all select 22, null"])
    expect(r).toEqual({ code: 0, stdout: ' n  name\n--  ----\n 1  x\n22  NULL\n(2 rows)\n', stderr: '' })
    const json = execd(['sql', '--json', 'select 1 as n'])
      .stdout.trim()
      .split('\n')
      .map(l => JSON.parse(l))
    expect(json.find(e => e.type === 'result').results['application/json']).toEqual({ columns: ['n'], rows: [[1]] })
    const bad = execd(['sql', 'select * from no_such_table'])
    expect(bad.code).toBe(1)
    expect(bad.stderr).toContain('no such table: no_such_table')
  })

  test("a statement that returns no rows says its count in one line, as mysql's prompt does", () => {
    // Each printed an `affected_rows` table: `CREATE TABLE` a 0 under that column, and `(1 row)`.
    const script =
      'CREATE TABLE t(a);\nINSERT INTO t VALUES (1), (2);\nUPDATE t SET a = 3 WHERE a = 1;\nSELECT a FROM t'
    expect(execd(['sql', script])).toEqual({
      code: 0,
      stdout: '0 rows affected\n2 rows affected\n1 row affected\na\n-\n3\n2\n(2 rows)\n',
      stderr: '',
    })
    // A SELECT's column of that name is a table, one row too (it printed `1 row affected`: the
    // text is a count's to the byte, the JSON says which it is); --json keeps the wire's result.
    expect(execd(['sql', 'select 1 as affected_rows union all select 2']).stdout).toEndWith('(2 rows)\n')
    expect(execd(['sql', 'select 1 as affected_rows']).stdout).toEndWith('(1 row)\n')
    expect(execd(['sql', '--json', 'create table u(b)']).stdout).toContain('"columns":["affected_rows"]')
  })
})

describe('execd exec: a failing cell says it once, and exits with its own status', () => {
  test("a shell's exit is its status, said as bash -c says it (not at all), a missing command bash's words and 127", () => {
    // `exit 3` printed 'exit status 3' and 'bash exited: the context state is lost', exit 1; an
    // error named execd's code file (/tmp/execd-bash-<nonce>.sh: line 1: …). Then 'exit status 3'
    // alone, where `bash -c 'exit 3'` says nothing (spec/exec-exit-call.test.ts).
    expect(execd(['bash', 'exit 3'])).toEqual({ code: 3, stdout: '', stderr: '' })
    expect(execd(['bash', 'echo hi; exit 0'])).toEqual({ code: 0, stdout: 'hi\n', stderr: '' })
    expect(execd(['bash', 'foo_missing'])).toEqual({
      code: 127,
      stdout: '',
      stderr: 'bash: line 1: foo_missing: command not found\n',
    })
    expect(execd(['bash', 'false'])).toEqual({ code: 1, stdout: '', stderr: '' })
  })

  test('an interpreter that dies exits with what ended it, in every language, as a shell would say it', () => {
    // python and JavaScript exited 1 whatever the death, a shell killed by a signal too; each
    // exits N, or 128 + the signal's number, a signal named in os/exec's words; an exit call is
    // said by its status alone, as the language's own command line leaves it.
    const cells: [string, string, number, string][] = [
      ['bash', 'kill -9 $$', 137, 'execd: signal: killed'],
      ['bash', 'kill -TERM $$', 143, 'execd: signal: terminated'],
      ['bash', 'kill -USR1 $$', 138, 'execd: signal: user defined signal 1'],
      ['bash', 'kill -XFSZ $$', 153, 'execd: signal: file size limit exceeded'],
      ['bash', 'kill -40 $$', 168, 'execd: signal: signal 40'],
      ['javascript', 'process.exit(3)', 3, ''],
      ['javascript', 'process.kill(process.pid, "SIGKILL")', 137, 'execd: signal: killed'],
    ]
    if (pythonAvailable === true)
      cells.push(
        ['python', 'import os; os._exit(3)', 3, ''],
        ['python', 'import os; os.kill(os.getpid(), 9)', 137, 'execd: signal: killed'],
        ['python', 'import os; os._exit(0)', 0, ''],
      )
    for (const [language, code, status, words] of cells) {
      const r = execd([language, code])
      expect([language, code, r]).toEqual([language, code, { code: status, stdout: '', stderr: words && `${words}\n` }])
    }
  })

  test.skipIf(!Bun.which('go'))(
    "go's os.Exit(3) is said by its status alone, as a go program's",
    () => {
      // It said `exit status 3` on stderr (the go kernel's ExitError), as `go run` does.
      expect(execd(['go', 'fmt.Fprint(os.Stderr, "bye\\n"); os.Exit(3)'])).toEqual({
        code: 3,
        stdout: '',
        stderr: 'bye\n',
      })
    },
    60_000,
  )

  test.skipIf(!Bun.which('go'))(
    "a go panic and a deadlock exit 2, as a go program does, the runtime's words said once",
    () => {
      // Each exited 1, the status of any other cell's error; the Go runtime exits 2 on each. A
      // crash outside main's goroutine was printed twice: the runtime's stderr, then the error.
      const said = (r: CliRun, first: string) => [r.code, r.stderr.split('\n')[0], r.stderr.split(first).length - 1]
      expect(said(execd(['go', 'panic("boom")']), 'panic: boom')).toEqual([2, 'panic: boom', 1])
      const deadlock = 'fatal error: all goroutines are asleep - deadlock!'
      expect(said(execd(['go', 'select {}']), deadlock)).toEqual([2, deadlock, 1])
      const inGoroutine = 'done := make(chan int)\ngo func() { panic("g") }()\n<-done'
      expect(said(execd(['go', inGoroutine]), 'panic: g')).toEqual([2, 'panic: g', 1])
    },
    60_000,
  )

  test.skipIf(pythonAvailable !== true)(
    "a syntax error is the runtime's traceback, its last line not said again",
    () => {
      // The error's evalue adds the place ('invalid syntax (<cell-1>, line 1)'): execd printed it
      // under the traceback's own `SyntaxError: invalid syntax`.
      const r = execd(['python', 'def f(:'])
      expect(r.code).toBe(1)
      expect(r.stderr).toEndWith('\nSyntaxError: invalid syntax\n')
      expect(r.stderr.match(/SyntaxError/g)).toHaveLength(1)
    },
  )
})

describe('exec reads code up to a daemon’s JSON limit', () => {
  // `-f /dev/zero` or an endless pipe was read whole before anything ran: the verb grew without
  // end (470 MiB after 6 s of /dev/zero; a 400 MB stdin held 3.1 GiB for 2.5 min).
  test('-f /dev/zero ends with one line naming the limit', async () => {
    const r = await runCli(['exec', 'bash', '-f', '/dev/zero'])
    expect(r.code).toBe(1)
    expect(r.stderr).toBe("execd: /dev/zero: code larger than 16 MiB (a daemon's JSON body limit)\n")
    expect(r.stdout).toBe('')
  }, 60_000)

  test('so does a stdin past it; code under it still runs, a missing file is named', async () => {
    const big = await runCli(['exec', 'bash', '-'], { stdin: '#'.repeat((16 << 20) + 1) })
    expect(big.code).toBe(1)
    expect(big.stderr).toBe("execd: stdin: code larger than 16 MiB (a daemon's JSON body limit)\n")
    const small = await runCli(['exec', 'bash', '-'], { stdin: `${'#'.repeat(1 << 20)}\necho ran` })
    expect(small.stdout).toBe('ran\n')
    expect(small.code).toBe(0)
    const nope = join(tempDir(), 'nope.sh')
    const missing = runCliSync(['exec', 'bash', '-f', nope])
    expect(missing.stderr).toBe(`execd: ${nope}: no such file or directory\n`)
  }, 60_000)
})
