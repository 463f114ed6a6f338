/**
 * The CLI at a terminal, as a person meets it: keys sent with tmux (Ctrl-C, Ctrl-D, arrows),
 * the screen read back; progress recorded with script(1). Skipped where tmux or script is missing.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { BIN, freePort, pidsWith, runCliSync, waitFor } from './harness'
import { findJdk } from '../plugins/java/jdk'
import { pythonAvailable } from './python-env'
import { hasTool, terminal, type Terminal } from './kit/tmux'
import { ownMarker } from './kit/own-pids'

/** A process that runs (not a zombie: one whose parent left reaps it when it can). */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1')
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z'
  } catch {
    return false
  }
}

let term: Terminal
let dir: string
let home: string
// Marks of this run's commands, not those of the same file run elsewhere at once.
const SLEEPER = ownMarker('execd-tty-sleeper-')
const QUITTER = ownMarker('execd-tty-quitter-')
const screen = () => term.screen()
const keys = (...k: string[]) => term.keys(...k)
const shows = (what: string | RegExp, limitMs?: number) => term.shows(what, limitMs)
/** A fresh shell in a tmux window of its own, in `dir`, with a private HOME (the REPL history). */
const shell = (columns?: number, rows?: number) => term.shell(columns, rows)

/** `execd exec python`'s prompt opened in a fresh shell, the exit status said after it. */
async function pythonPrompt(): Promise<void> {
  shell()
  keys(`${BIN} exec python; echo "status $?"`, 'Enter')
  await shows(/^python>/m) // capture-pane trims the prompt's trailing space
}

/** A python statement that runs until `file` exists: the test says when its cell ends. */
const untilExists = (file: string) => `[time.sleep(0.05) for _ in iter(lambda: os.path.exists('${file}'), True)]`

beforeAll(() => {
  term = terminal('execd-cli-tty')
  ;({ dir, home } = term)
})
afterAll(() => term.close())

describe.skipIf(!hasTool('tmux'))('at a terminal (tmux)', () => {
  test('Ctrl-C stops exec --shell and its command: exit 130, nothing left', async () => {
    shell()
    keys(`${BIN} exec --shell 'echo started; exec -a ${SLEEPER} sleep 300'; echo "status $?"`, 'Enter')
    // Its own line: the typed command line says 'started' too.
    await shows(/^started$/m)
    // argv as `exec -a` made it (execd's own argv holds the marker followed by 'sleep').
    await waitFor('the command', () => pidsWith(`${SLEEPER} 300`).length > 0)
    keys('C-c')
    await shows('status 130')
    await waitFor('no command left', () => pidsWith(`${SLEEPER} 300`).length === 0)
  }, 120_000)

  test('Ctrl-\\ (SIGQUIT) stops exec --shell and its command too: exit 131, nothing left', async () => {
    // Left to its default action, SIGQUIT ended execd on the spot and the command ran on without it.
    shell()
    keys(`${BIN} exec --shell 'echo started; exec -a ${QUITTER} sleep 300'; echo "status $?"`, 'Enter')
    await shows(/^started$/m)
    await waitFor('the command', () => pidsWith(`${QUITTER} 300`).length > 0)
    keys('C-\\')
    await shows('status 131')
    await waitFor('no command left', () => pidsWith(`${QUITTER} 300`).length === 0)
  }, 120_000)

  test.skipIf('missing' in findJdk(process.env.EXECD_JSHELL || 'jshell'))(
    'Ctrl-C while exec java starts its JVM: exit 130, the JVM and javac gone',
    async () => {
      // The signal handlers came with the cell: before it, Ctrl-C took SIGINT's default action.
      shell()
      keys(`${BIN} exec java 'System.out.println(7 * 6)'; echo "status $?"`, 'Enter')
      await waitFor('the CLI', () => pidsWith(`${BIN} exec java`, term.shellPid()).length > 0)
      const [cli] = pidsWith(`${BIN} exec java`, term.shellPid())
      await waitFor('the JDK to start', () => pidsWith('', cli).length > 0)
      const children = pidsWith('', cli)
      keys('C-c')
      await shows('status 130')
      await waitFor('no JDK process left', () => children.every(pid => !alive(pid)))
    },
    120_000,
  )

  test.skipIf(pythonAvailable !== true)(
    'the python prompt ends on SIGTERM or SIGHUP during a cell (only Ctrl-C keeps it): interpreter gone, terminal sane',
    async () => {
      for (const [signal, status] of [
        ['SIGTERM', 143],
        ['SIGHUP', 129],
      ] as const) {
        shell()
        keys(`${BIN} exec python; echo "status $?"; stty -a | grep -o -- ' -\\?icanon\\| -\\?echo '`, 'Enter')
        await shows(/^python>/m)
        const [cli] = pidsWith(`${BIN} exec python`, term.shellPid())
        expect(cli).toBeNumber()
        keys('import time; time.sleep(301)', 'Enter')
        await waitFor('the cell to run', () => pidsWith('<execd-driver>', cli).length > 0)
        const [driver] = pidsWith('<execd-driver>', cli)
        process.kill(cli!, signal)
        // The prompt went on after the interrupted cell, as it does after Ctrl-C.
        await shows(`status ${status}`)
        await shows(/^ icanon\n echo$/m)
        // The interrupt's words were printed as the prompt ended, as if Ctrl-C had come.
        expect(screen()).not.toContain('KeyboardInterrupt')
        await waitFor('the interpreter gone', () => pidsWith('<execd-driver>').every(pid => pid !== driver)).catch(
          err => {
            const ps = Bun.spawnSync(['ps', '-o', 'pid,ppid,stat,etime,args', '-p', String(driver)]).stdout.toString()
            throw new Error(`${(err as Error).message} (${signal}):\n${ps.slice(0, 300)}\n${screen()}`)
          },
        )
      }
    },
    180_000,
  )

  test('Ctrl-C during fs get on a 20-column terminal: exit 130, the progress line gone with its ^C, no .part left', async () => {
    // The line filled the row less one; the terminal's `^C` wrapped after it, and the clear
    // that follows the stop cleared only the `C`'s row: the progress stayed above the prompt.
    const src = join(dir, 'sparse-20g.bin')
    const out = mkdtempSync(join(dir, 'get-'))
    Bun.spawnSync(['truncate', '-s', '20G', src])
    try {
      shell(20, 12)
      keys(`clear; ${BIN} fs get ${src} ${out}/; echo "status $?"`, 'Enter')
      await shows('%)')
      keys('C-c')
      await shows('status 130')
      expect(screen()).not.toContain('%)')
      expect(readdirSync(out)).toEqual([])
    } finally {
      rmSync(src, { force: true })
    }
  }, 120_000)

  test.skipIf(pythonAvailable !== true)(
    'exec python with no code opens a prompt: state kept, blocks, Ctrl-C interrupts, history, Ctrl-D exits 0',
    async () => {
      await pythonPrompt()
      keys('x = 41', 'Enter')
      keys('x + 1', 'Enter')
      await shows(/^42$/m)
      keys('for i in range(2):', 'Enter', '  print(i * 10)', 'Enter', 'Enter')
      await shows(/^10$/m)
      keys('import time; time.sleep(300)', 'Enter')
      // This prompt's interpreter: any other python context on the machine has a driver too.
      const [cli] = pidsWith(`${BIN} exec python`, term.shellPid())
      expect(cli).toBeNumber()
      await waitFor(
        'the cell to run',
        () => pidsWith('<execd-driver>', cli).length > 0 && screen().includes('sleep(300)'),
      )
      keys('C-c')
      await shows('KeyboardInterrupt')
      // The context lives on: its state too, and a Ctrl-C at the prompt only drops the line.
      keys('half typed', 'C-c')
      await shows('half typed^C')
      keys('x', 'Enter')
      await shows(/^41$/m)
      // Up twice: past `x`, the interrupted cell (a dropped line is not history).
      keys('Up', 'Up')
      await shows(/python> import time; time\.sleep\(300\)\s*$/)
      keys('C-u', 'C-d')
      await shows('status 0')
      expect(readFileSync(join(home, '.execd_history'), 'utf8')).toContain('x = 41\n')
    },
    180_000,
  )
  test.skipIf(pythonAvailable !== true)(
    'a terminal resized while a cell runs: no prompt among its lines',
    async () => {
      // readline redrew `python> ` on the resize, and the cell's next line went on after it.
      await pythonPrompt()
      const go = join(dir, 'go')
      keys(`import os, time; print('before'); ${untilExists(go)}; print('after')`, 'Enter')
      await shows(/^before$/m)
      term.resize(100, 40)
      writeFileSync(go, '')
      await shows(/^(python> )?after$/m)
      expect(screen()).toMatch(/^after$/m)
      // By now the resize has been handled: the next cell's answer and the prompt after it.
      keys('1 + 1', 'Enter')
      await shows(/^2\npython>$/m)
      expect(screen().match(/^python>/gm)).toHaveLength(3)
      // At the prompt the resize still redraws it, the line typed kept.
      keys('x')
      term.resize(90, 40)
      await shows(/^python> x$/m)
      keys('C-u', 'C-d')
      await shows('status 0')
      rmSync(go)
    },
    120_000,
  )

  test.skipIf(pythonAvailable !== true)(
    'lines typed while a cell runs are shown again after their own prompts, `...` for a block',
    async () => {
      // They were taken bare: the def's body ran with no `...` before it, and no prompt said
      // where the next cell began (python's and bash's prompts show typeahead again).
      await pythonPrompt()
      const go = join(dir, 'typed-ahead')
      // The cell says it runs before the rest is typed: sent at once, the lines came in one read
      // with the first under load, a paste, whose lines are shown only after their prompts.
      keys(`import os, time; print('running'); ${untilExists(go)}`, 'Enter')
      await shows(/^running$/m)
      keys('def f():', 'Enter', '    return 7', 'Enter', '', 'Enter', 'f()', 'Enter')
      await shows(/^f\(\)$/m)
      writeFileSync(go, '')
      await shows(/^7$/m)
      expect(screen()).toContain('\npython> def f():\n...     return 7\n...\npython> f()\n7\n')
      keys('C-d')
      await shows('status 0')
      rmSync(go)
    },
    120_000,
  )

  test('serve --access-token-file - at a terminal asks for the token and does not show it', async () => {
    // It waited without a word, and the token typed stayed on the screen, as typed.
    const port = await freePort()
    const token = `typed-${crypto.randomUUID().slice(0, 8)}`
    shell()
    keys(`${BIN} serve --access-token-file - --port ${port}; echo "status $?"`, 'Enter')
    await shows('execd: access token (not shown as it is typed):')
    // A slip mended as a person mends it: a backspace takes the last character.
    keys(`${token}x`, 'BSpace', 'Enter')
    await shows('"execd listening"')
    expect(screen()).not.toContain(token)
    const ping = (t: string) => runCliSync(['ping', '--port', String(port)], { env: { EXECD_ACCESS_TOKEN: t } }).code
    expect([ping(token), ping(`${token}x`)]).toEqual([0, 1])
    keys('C-c')
    await shows('status 0')
    // Ctrl-C at the question ends serve as the signal does, the terminal's echo put back.
    // The question the second serve asks, not the first's still on the screen before `clear`
    // ran: keys typed then went to a serve still starting, or to bash.
    keys(`clear; echo sec''ond; ${BIN} serve --access-token-file - --port ${port}; echo "status $?"`, 'Enter')
    await shows(/^second\nexecd: access token/m)
    keys('abc', 'C-c')
    keys(`echo "after $?"; stty -a | grep -o -- ' -\\?echo '`, 'Enter')
    await shows(/^after 130\n echo$/m)
  }, 60_000)

  /** [language, the exit call typed at its prompt, the status, what the screen shows of it] */
  const EXIT_CALLS: [string, string, number, string?][] = [
    ...(pythonAvailable === true
      ? ([
          ['python', 'import sys; sys.exit(3)', 3],
          ['python', 'exit()', 0],
          ['python', "import sys; sys.exit('3 bye')", 1, '3 bye'],
          ['python', 'import os; os.kill(os.getpid(), 9)', 137, 'execd: signal: killed'],
        ] as [string, string, number, string?][])
      : []),
    ['javascript', 'process.exit(4)', 4],
    ['bash', 'exit 5', 5],
    // A death by a signal ends the prompt too, said in one line: `kill -9 $$` carried on in a
    // fresh shell, said twice (the death, then the next cell's state lost).
    ['bash', 'kill -9 $$', 137, 'execd: signal: killed'],
    ['javascript', 'process.kill(process.pid, "SIGKILL")', 137, 'execd: signal: killed'],
  ]
  test('an exit call or a kill ends the prompt with its status, as the language’s own prompt ends', async () => {
    // The prompt went on: python printed SystemExit's traceback, javascript and bash that the
    // state was lost, and the next line ran in a fresh interpreter.
    for (const [language, call, status, says] of EXIT_CALLS) {
      shell()
      keys(`clear; ${BIN} exec ${language}; echo "status $?"`, 'Enter')
      await shows(new RegExp(`^${language}>`, 'm'))
      keys(call, 'Enter')
      await shows(`status ${status}`)
      const seen = screen()
      expect(seen).not.toMatch(/SystemExit|state is lost/)
      if (says) expect(seen).toMatch(new RegExp(`^${says}$`, 'm'))
    }
  }, 180_000)
})

describe.skipIf(!hasTool('script'))('progress', () => {
  test('fs put and fs get draw bytes, rate and ETA on a terminal, and clear the line', () => {
    writeFileSync(join(dir, 'big.bin'), Buffer.alloc(32 << 20, 1))
    for (const [verb, args] of [
      ['put', 'big.bin copy.bin'],
      ['get', 'big.bin copy2.bin'],
    ] as const) {
      const log = join(dir, `${verb}.log`)
      const r = Bun.spawnSync(['script', '-q', '-e', '-c', `${BIN} fs ${verb} ${args}`, log], {
        cwd: dir,
        stdin: 'ignore',
      })
      expect(r.exitCode).toBe(0)
      const drawn = readFileSync(log, 'latin1')
      expect(drawn).toMatch(new RegExp(`${verb} [^\\r]* of 32\\.0 MiB \\(\\d+%\\)  [\\d.]+ [KMG]?i?B/s`))
      expect(drawn).toContain('\r\x1b[2K')
    }
    expect(readFileSync(join(dir, 'copy2.bin')).length).toBe(32 << 20)
  })

  test('a dumb terminal (TERM=dumb, as Emacs shell-mode sets it) gets no progress line to redraw', () => {
    // Each redraw's carriage return and erase-line went to a terminal that shows them as text.
    writeFileSync(join(dir, 'dumb.bin'), Buffer.alloc(8 << 20, 1))
    const log = join(dir, 'dumb.log')
    const r = Bun.spawnSync(['script', '-q', '-e', '-c', `${BIN} fs put dumb.bin dumb-copy.bin`, log], {
      cwd: dir,
      stdin: 'ignore',
      env: { ...process.env, TERM: 'dumb' },
    })
    expect(r.exitCode).toBe(0)
    expect(readFileSync(log, 'latin1')).not.toMatch(/\x1b|of 8\.0 MiB/)
    expect(readFileSync(join(dir, 'dumb-copy.bin')).length).toBe(8 << 20)
  })

  test('on a terminal of 30 columns each drawn line fits in 29: a wrapped one left rows behind', () => {
    writeFileSync(join(dir, 'narrow.bin'), Buffer.alloc(8 << 20, 1))
    const log = join(dir, 'narrow.log')
    const long = 'a-name-long-enough-to-wrap-by-itself.bin'
    const r = Bun.spawnSync(['script', '-q', '-e', '-c', `stty cols 30; ${BIN} fs put narrow.bin ${long}`, log], {
      cwd: dir,
      stdin: 'ignore',
    })
    expect(r.exitCode).toBe(0)
    // What each redraw wrote after its carriage return and erase-line (the first draws at once).
    const drawn = readFileSync(log, 'utf8')
      .split('\r\x1b[2K')
      .slice(1)
      .map(line => line.replace(/\r?\n.*$/s, ''))
    expect(drawn.length).toBeGreaterThan(0)
    for (const line of drawn) expect([line, Bun.stringWidth(line)]).toEqual([line, Math.min(Bun.stringWidth(line), 29)])
    expect(drawn[0]).toMatch(/^…\S*\.bin  \(\d+%\)$|^$/)
  })
})

describe.skipIf(!hasTool('script'))('binary to a terminal', () => {
  test('fs cat of a binary file to a terminal is refused in one line, exit 1; a pipe and fs get - take it', () => {
    // Its bytes reached the screen: an escape sequence in them left the terminal drawing garbage.
    writeFileSync(
      join(dir, 'blob.bin'),
      Buffer.concat([Buffer.from('\x1b(0\x1b[?1049h'), Buffer.alloc(16), Buffer.from('TAIL')]),
    )
    writeFileSync(join(dir, 'words.txt'), 'plain words\n')
    const log = join(dir, 'binary.log')
    const lines = [
      `${BIN} fs cat blob.bin; echo "cat $?"`,
      `${BIN} fs cat words.txt; echo "text $?"`,
      `${BIN} fs cat blob.bin | od -An -c | tail -2; echo "piped $?"`,
      `${BIN} fs get blob.bin - >/dev/null; echo "get $?"`,
    ]
    const r = Bun.spawnSync(['script', '-q', '-e', '-c', lines.join('; '), log], { cwd: dir, stdin: 'ignore' })
    expect(r.exitCode).toBe(0)
    const drawn = readFileSync(log, 'latin1').replace(/\r\n/g, '\n')
    expect(drawn).toContain(
      'execd: blob.bin is binary (a NUL byte in its first 8000 bytes), not shown on a terminal: pipe it, or print it with execd fs get blob.bin -\ncat 1\n',
    )
    expect(drawn).not.toContain('\x1b[?1049h')
    expect(drawn).toContain('plain words\ntext 0\n')
    expect(drawn).toMatch(/T {3}A {3}I {3}L\n(.*\n)?piped 0\n/)
    expect(drawn).toContain('get 0\n')
  })
})
