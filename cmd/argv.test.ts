import { expect, test } from 'bun:test'
import { cac } from 'cac'
import { ExecdError } from '../core/errors'
import { protectDashes, restoreValues, word } from './argv'
import { parseDepth } from '../plugins/files/contract'
import { UsageError, exitCodeOf, plainMessage, typedCheck } from './errors'

function parse(words: string[]) {
  const cli = cac('t')
  cli.command('run [...args]').option('-f, --file <path>', '').option('--token <t>', '').option('--json', '')
  const parsed = cli.parse(['', '', ...protectDashes(cli, words)], { run: false })
  restoreValues(cli.options)
  return { args: parsed.args.map(word), options: cli.options }
}

test('- is standard input as a value and as a positional; values stay text as typed', () => {
  expect(parse(['run', '-f', '-']).options.file).toBe('-')
  expect(parse(['run', '--file', '-']).options.file).toBe('-')
  expect(parse(['run', '--file=-']).options.file).toBe('-')
  expect(parse(['run', '-', 'x']).args).toEqual(['-', 'x'])
  expect(parse(['run', '--token', '0123']).options.token).toBe('0123')
  expect(parse(['run', '--token=007', '--json']).options).toMatchObject({ token: '007', json: true })
  // A flag followed by another flag still has no value (cac then says so).
  expect(parse(['run', '--file', '--json']).options.file).toBe(true)
})

test('the words after -- are operands, even when they look like options', () => {
  expect(parse(['run', '--', '-x', '--json']).args).toEqual(['-x', '--json'])
  expect(parse(['run', '--', '-x', '--json']).options.json).toBeUndefined()
  expect(parse(['run', 'a', '--json', '--', '-']).args).toEqual(['a', '-'])
})

const typedError = (f: () => unknown): unknown => {
  try {
    f()
  } catch (err) {
    return err
  }
}

test('exit codes: 2 for what was typed (checked before any work), 1 for failed work, a 400 too; messages without HTTP prefixes', () => {
  expect(exitCodeOf(new UsageError('x'))).toBe(2)
  // A 400 is a symlink loop or a path through a file as often as a typo: the CLI's own checks
  // say which is typed wrong, so a refusal after them is the thing's.
  expect(exitCodeOf(new ExecdError('INVALID_REQUEST_BODY', 'x'))).toBe(1)
  expect(exitCodeOf(typedError(() => typedCheck(() => parseDepth('x'))))).toBe(2)
  expect(exitCodeOf(new ExecdError('FILE_NOT_FOUND', 'x'))).toBe(1)
  expect(exitCodeOf(new Error('x'))).toBe(1)
  expect(plainMessage(new ExecdError('FILE_NOT_FOUND', 'file not found. open x: no such file or directory'))).toBe(
    'open x: no such file or directory',
  )
  const enoent = Object.assign(new Error('ENOENT: no such file or directory, open /abs/x'), {
    code: 'ENOENT',
    path: 'x',
  })
  expect(plainMessage(enoent)).toBe('x: no such file or directory')
})

test("origins: each word cac sees comes from its argv's index (a flag and its value are the flag's)", () => {
  const cli = cac('t')
  cli.command('run [...args]').option('-f, --file <path>', '').option('--json', '')
  const origins: number[] = []
  const typed = protectDashes(cli, ['run', '-f', 'x', 'a', '--json', '--file=y', '--', 'b', '-c'], true, origins)
  expect(typed.map(word)).toEqual(['run', '-f=\0x', 'a', '--json', '--file=\0y', 'b', '-c'])
  expect(origins).toEqual([0, 1, 3, 4, 5, 7, 8])
})
