/**
 * Every verb's help, byte for byte: a start builds only the verb it runs (cmd/cli.ts), and
 * none of that may show in what `--help` prints. The snapshot was taken from the program as
 * it was before, when every verb was always built. The slips below it were help with no word
 * of why (`execd --versoin`), cac's words (`Unknown option`), or no guess at the word meant.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { BIN, runCli, runCliSync } from './harness'
import { hasTool, terminal, type Terminal } from './kit/tmux'

const CASES = [
  [],
  ['--help'],
  ['-h'],
  ['serve', '--help'],
  ['serve', '-h'],
  ['serve', '--help', '--', 'x'],
  ['ping', '--help'],
  ['doctor', '--help'],
  ['metrics', '--help'],
  ['exec', '--help'],
  ['fs', '--help'],
  ['fs', 'get', '--help'],
  ['completion', '--help'],
  ['completion', 'bash'],
  // Usage errors of serve, whose program holds serve alone.
  ['serve', '--shell', 'ls'],
  ['serve', '-f', 'x'],
  ['serve', '--port', 'abc'],
  ['serve', '--port'],
  ['serve', 'extra'],
  ['serve', '--json'],
  // A person's typos and slips: one line saying what was wrong, the word meant, where the help is.
  ['--versoin'],
  ['-x'],
  ['exce'],
  ['doctr'],
  ['exec', '--shel', 'ls'],
  ['exec', '--shell'],
  ['metrics', '--wach'],
  ['completion'],
  ['fs', 'lss'],
  ['fs', '--jsn'],
  ['fs', 'get'],
  ['fs', 'get', '--hlep', 'x'],
  ['fs', 'cat', '--offset'],
  // An option with a short name, its value missing: `-f, needs a value` (cac's declaration).
  ['exec', 'python', '-f'],
  ['fs', 'ls', '--depth'],
  ['serve', '--prot', '5'],
  // A daemon's limit given to a verb with no use for it: serve's, said so.
  ['exec', '--max-commands', '4', '--shell', 'true'],
  // A daemon's port given to a verb that reaches it by --url (ping takes --port): said how.
  ['metrics', '--port', '5'],
  ['fs', 'ls', '--port', '5'],
  ['exec', '--shell', 'true', '--port=5'],
]

/** A help's lines wider than 80 columns, or that end in a space. */
const wideLines = (help: string) => help.split('\n').filter(l => l.length > 80 || / $/.test(l))

test.each(CASES.map(args => [args.join(' ') || '(no words)', args] as const))('execd %s', (_, args) => {
  const r = runCliSync([...args], { env: { EXECD_ACCESS_TOKEN: '', EXECD_PORT: '' } })
  expect(`exit ${r.code}\n--- stdout\n${r.stdout}--- stderr\n${r.stderr}`).toMatchSnapshot()
  // A help asked for here is one the 80-column test below need not start again.
  if (args.at(-1) === '--help') expect(wideLines(r.stdout)).toEqual([])
})

test('`execd help [verb [op]]` is that verb’s --help, as git and go take it', () => {
  for (const [asked, same] of [
    [['help'], ['--help']],
    [
      ['help', 'exec'],
      ['exec', '--help'],
    ],
    [
      ['help', 'fs', 'get'],
      ['fs', 'get', '--help'],
    ],
  ] as const) {
    const r = runCliSync([...asked])
    expect({ asked, code: r.code, stderr: r.stderr }).toEqual({ asked, code: 0, stderr: '' })
    expect(r.stdout).toBe(runCliSync([...same]).stdout)
    expect(r.stdout).toContain('Usage:')
  }
})

/** Every verb's help and every fs operation's, as a person asks for it. */
const HELPS = [
  [],
  ...['serve', 'ping', 'doctor', 'metrics', 'exec', 'fs', 'completion'].map(v => [v]),
  ...['ls', 'stat', 'cat', 'get', 'put', 'rm', 'mv', 'mkdir', 'chmod', 'search', 'replace'].map(op => ['fs', op]),
]

test("exec lists and takes only the options one run reads: a daemon's limits are serve's", () => {
  const daemonOnly = ['--max-commands', '--max-background-commands', '--max-contexts', '--context-idle']
  const retention = ['--command-retention-count', '--command-retention-age', '--command-retention-bytes']
  const exec = runCliSync(['exec', '--help']).stdout
  const serve = runCliSync(['serve', '--help']).stdout
  for (const flag of [...daemonOnly, ...retention]) {
    expect([flag, exec.includes(`${flag} `)]).toEqual([flag, false])
    expect([flag, serve.includes(`${flag} `)]).toEqual([flag, true])
    // Refused, not taken and ignored: exit 2 and one line naming the option and its verb.
    const r = runCliSync(['exec', `${flag}=4`, '--shell', 'echo ran'])
    expect([flag, r.code, r.stdout, r.stderr]).toEqual([
      flag,
      2,
      '',
      `execd: unknown option '${flag}': it is serve's (see execd exec --help)\n`,
    ])
  }
  // What one run does read stays: the grace its --timeout kills with, the bridge it prefers.
  for (const flag of ['--command-interrupt-grace', '--code-interrupt-grace', '--prefer-jupyter', '--python-spare'])
    expect([flag, exec.includes(`${flag} `)]).toEqual([flag, true])
  const kept = runCliSync(['exec', '--command-interrupt-grace', '50', '--shell', 'echo ran'])
  expect([kept.code, kept.stdout]).toEqual([0, 'ran\n'])
})

test('help fits 80 columns when it is no terminal (| less, > file): descriptions wrapped under their column', async () => {
  // The helps the snapshot's cases have not already checked, started side by side: one after
  // another, the 19 starts took over the test's 5 s at load 15.
  const snapshotted = new Set(CASES.map(c => c.join(' ')))
  const asked = HELPS.map(verb => [...verb, '--help']).filter(args => !snapshotted.has(args.join(' ')))
  expect(asked.length).toBeLessThan(HELPS.length)
  const got = await Promise.all(asked.map(async args => ({ args, r: await runCli(args) })))
  for (const { args, r } of got) expect([args, r.code, wideLines(r.stdout)]).toEqual([args, 0, []])
})

describe.skipIf(!hasTool('tmux'))('help at a terminal', () => {
  let term: Terminal
  beforeAll(() => {
    term = terminal('execd-cli-help')
  })
  afterAll(() => term.close())

  test("wrapped at the terminal's width, by execd and not by the terminal: each line fits, none cut", async () => {
    const help = runCliSync(['serve', '--help']).stdout
    const examples = help.slice(help.indexOf('Examples:')).split('\n').slice(1)
    for (const columns of [60, 100]) {
      term.shell(columns, 200)
      term.keys(`clear; ${BIN} serve --help; echo "status $?"`, 'Enter')
      await term.shows(/^status 0$/m)
      // -J joins the rows the terminal wrapped back into the line execd wrote.
      const lines = term.screen(true).split('\n')
      // Examples stay whole: a command wrapped is one that cannot be copied.
      const wide = lines.filter(l => l.length > columns && !examples.some(e => e.includes(l.trim())))
      expect([columns, wide]).toEqual([columns, []])
      // Nothing lost: every option and its last word are there.
      const text = lines.join(' ').replace(/\s+/g, ' ')
      expect(text).toContain('--pty-retain <value> ms an exited (or never connected) PTY session')
      expect(text).toContain('(env EXECD_PTY_RETAIN_MS) (default: 600000)')
    }
  }, 60_000)
})
