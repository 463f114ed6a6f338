/**
 * A daemon behind `--url` that goes away under a person at a terminal. At a prompt: the context
 * closed as idle or the daemon restarted between two lines, the daemon stopped (SIGSTOP) while a
 * line waits for its answer or mid-cell. The prompt says so in one line and goes on; on main's
 * build the first ended it (`execd: context <id> not found`, status 1), the second ignored Ctrl-C
 * for as long as --answer-timeout (here 0: for ever), and Ctrl-C in a cell the stopped daemon
 * could not interrupt said nothing. A download from a stopped daemon kept its last rate and ETA
 * on its line. Skipped where tmux (or, for the prompt, python) is missing.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { existsSync, readdirSync, truncateSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { BIN, serveArgv, startDaemon, waitFor, type Daemon } from './harness'
import { hasTool, terminal, type Terminal } from './kit/tmux'
import { pythonAvailable } from './python-env'

let term: Terminal
const daemons: Daemon[] = []

beforeAll(() => {
  term = terminal('execd-terminal-daemon')
})
afterAll(async () => {
  term.close()
  for (const d of daemons) {
    d.proc.kill('SIGCONT')
    await d.stop()
  }
})

/** A prompt on `d` at a fresh shell, `x = 5` run in it unless `bare`. */
async function promptOn(d: Daemon, flags: string[] = [], bare = false) {
  term.shell(200, 50)
  term.keys(
    `EXECD_ACCESS_TOKEN=${d.token} ${BIN} exec python --url ${d.url} ${flags.join(' ')}; echo "status $?"`,
    'Enter',
  )
  await term.shows(/^python>/m)
  if (bare) return
  term.keys("x = 5; print('x' + ' set')", 'Enter')
  await term.shows(/^x set$/m)
}

const LOST =
  'the daemon no longer has this python context (closed as idle, or restarted): a fresh one is open; that line was not run'

/** The line typed next runs in a fresh context, and Ctrl-D ends the prompt with 0. */
async function goesOn() {
  term.keys("print('x' in globals(), 'still' + ' here')", 'Enter')
  await term.shows(/^False still here$/m)
  term.keys('C-d')
  await term.shows(/^status 0$/m)
}

describe.skipIf(!hasTool('tmux') || pythonAvailable !== true)('a python prompt on --url (tmux)', () => {
  test('its context closed as idle: one line saying so, a fresh context, the prompt goes on', async () => {
    const d = await startDaemon({ args: ['--context-idle', '1000'] })
    daemons.push(d)
    // No line before the context is closed: one typed more than a second after the prompt came
    // (a loaded machine) would meet the closed context itself.
    await promptOn(d, [], true)
    const contexts = async () => (await (await d.fetch('/code/contexts?language=python')).json()) as unknown[]
    await waitFor('the context closed as idle', async () => (await contexts()).length === 0, 30_000)
    term.keys('print(x)', 'Enter')
    await term.shows(LOST)
    expect(term.screen()).not.toContain('not found')
    await goesOn()
  }, 120_000)

  test('the daemon restarted on its port between two lines: the same', async () => {
    const d = await startDaemon()
    await promptOn(d)
    await d.stop()
    const port = new URL(d.url).port
    const proc = Bun.spawn([...serveArgv(Number(port)), '--access-token', d.token], {
      stdin: 'ignore',
      stdout: 'pipe',
      stderr: 'pipe',
      env: { ...process.env, EXECD_ACCESS_TOKEN: '' },
    })
    const again: Daemon = { ...d, proc, stop: async () => (proc.kill('SIGTERM'), await proc.exited) }
    daemons.push(again)
    await waitFor(
      'the daemon back',
      () =>
        d.fetch('/ping').then(
          r => r.ok,
          () => false,
        ),
      30_000,
    )
    term.keys('print(x)', 'Enter')
    await term.shows(LOST)
    await goesOn()
  }, 120_000)

  test('the daemon stopped (SIGSTOP) under a line: Ctrl-C gives the prompt back at once, one line', async () => {
    const d = await startDaemon()
    daemons.push(d)
    // No bound on the answer's wait: on main's build only the bound gave the prompt back.
    await promptOn(d, ['--answer-timeout', '0'])
    d.proc.kill('SIGSTOP')
    term.keys("print('never' + ' seen')", 'Enter')
    await term.shows("python> print('never' + ' seen')")
    term.keys('C-c')
    await term.shows('execd: interrupted before the daemon answered; it may still run the line')
    await term.shows(/^python>\s*$/m)
    d.proc.kill('SIGCONT')
    term.keys("print('back' + ' again', x)", 'Enter')
    await term.shows(/^back again 5$/m)
    term.keys('C-d')
    await term.shows(/^status 0$/m)
  }, 120_000)

  test('the daemon stopped (SIGSTOP) mid-cell: Ctrl-C says the cell has not stopped yet; resumed, the interrupt lands', async () => {
    const d = await startDaemon()
    daemons.push(d)
    await promptOn(d)
    term.keys("import time; print('tick' + 'ing', flush=True); time.sleep(300)", 'Enter')
    await term.shows(/^ticking$/m)
    d.proc.kill('SIGSTOP')
    term.keys('C-c')
    // On main's build nothing was said: Ctrl-C seemed ignored until a second one ended the prompt.
    await term.shows('execd: the cell has not stopped yet; Ctrl-C again leaves the prompt')
    d.proc.kill('SIGCONT')
    await term.shows('KeyboardInterrupt')
    term.keys("print('on' + ' again', x)", 'Enter')
    await term.shows(/^on again 5$/m)
    term.keys('C-d')
    await term.shows(/^status 0$/m)
  }, 120_000)

  test('the daemon stopped (SIGSTOP) at the prompt: Ctrl-D leaves within 5 s, one line', async () => {
    const d = await startDaemon()
    daemons.push(d)
    // No bound on the answer's wait: on main's build Ctrl-D waited on the context's DELETE for ever.
    await promptOn(d, ['--answer-timeout', '0'])
    d.proc.kill('SIGSTOP')
    term.keys('C-d')
    await term.shows(
      "has not closed the context within 5 s (a daemon stopped, or stuck?): it is left to the daemon's idle expiry",
    )
    await term.shows(/^status 0$/m)
  }, 120_000)
})

describe.skipIf(!hasTool('tmux'))('fs get --url at a terminal (tmux)', () => {
  test('the daemon stopped (SIGSTOP) midway: the line says for how long no bytes came; Ctrl-C leaves nothing', async () => {
    const d = await startDaemon()
    daemons.push(d)
    term.shell(200, 50)
    const file = join(term.dir, 'big.bin')
    // Sparse: read as zeros, no disk.
    writeFileSync(file, '')
    truncateSync(file, 4 * 1024 * 1024 * 1024)
    term.keys(`EXECD_ACCESS_TOKEN=${d.token} ${BIN} fs get ${file} got.bin --url ${d.url}; echo "status $?"`, 'Enter')
    await term.shows(/\/s  ETA/)
    d.proc.kill('SIGSTOP')
    // On main's build the line kept its last rate and ETA for as long as the daemon was stopped.
    await term.shows(/get \S+big\.bin .*of 4\.0 GiB \(\d+%\)  no bytes for \d+s/)
    d.proc.kill('SIGCONT')
    term.keys('C-c')
    await term.shows(/^status 130$/m)
    expect(readdirSync(term.dir).filter(f => f.includes('got'))).toEqual([])
    expect(existsSync(join(term.dir, 'got.bin'))).toBe(false)
  }, 120_000)
})

describe.skipIf(!hasTool('tmux'))('exec --url opening a context at a terminal (tmux)', () => {
  test("Ctrl-C while the daemon opens the context: its line starts a row of its own, under the terminal's ^C", async () => {
    // Accepts and never answers: POST /code/context waits, as on a daemon starting a JVM.
    let asked = false
    const mute = Bun.listen({ hostname: '127.0.0.1', port: 0, socket: { data: () => void (asked = true) } })
    try {
      term.shell(200, 50)
      term.keys(`${BIN} exec python 1 --url http://127.0.0.1:${mute.port}; echo "status $?"`, 'Enter')
      // The request is in, and held: the verb waits in its open.
      await waitFor('the context asked for', () => asked)
      term.keys('C-c')
      await term.shows(/stopping once the daemon has opened/)
      // On main's build: `^Cexecd: stopping once …` on one row.
      expect(term.screen()).toMatch(/^\^C\nexecd: stopping once the daemon has opened the python context/m)
      term.keys('C-c')
      await term.shows(/status 130$/m)
    } finally {
      mute.stop(true)
    }
  }, 30_000)
})
