/**
 * Every verb's help, byte for byte: a start builds only the verb it runs (cmd/cli.ts), and
 * none of that may show in what `--help` prints. The snapshot was taken from the program as
 * it was before, when every verb was always built. The slips below it were help with no word
 * of why (`execd --versoin`), cac's words (`Unknown option`), or no guess at the word meant.
 */
import { expect, test } from 'bun:test'
import { runCliSync } from './harness'

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
  ['serve', '--prot', '5'],
]

test.each(CASES.map(args => [args.join(' ') || '(no words)', args] as const))('execd %s', (_, args) => {
  const r = runCliSync([...args], { env: { EXECD_ACCESS_TOKEN: '', EXECD_PORT: '' } })
  expect(`exit ${r.code}\n--- stdout\n${r.stdout}--- stderr\n${r.stderr}`).toMatchSnapshot()
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
