import { expect, test } from 'bun:test'
import { allOptions } from './options'
import { plainServeFlags } from './serve-flags'

const read = (...words: string[]) => plainServeFlags(words, allOptions)

test("serve's plain words are read as cac reads them: values as typed, booleans true, `--` for the main process", () => {
  expect(read()).toEqual({ '--': [] })
  expect(read('--port', '0123', '--access-token=s3cret', '--prefer-jupyter', '--host', '::')).toEqual({
    port: '0123',
    'access-token': 's3cret',
    'prefer-jupyter': true,
    host: '::',
    '--': [],
  })
  expect(read('--access-token=', '--', 'python3', '--port', '1')).toEqual({
    'access-token': '',
    '--': ['python3', '--port', '1'],
  })
})

test('anything else is left to cac, whose messages stay the CLI’s', () => {
  for (const words of [
    ['--frob'],
    ['--port'],
    ['--port', '1', '--port', '2'],
    ['--access-token-file', '-'],
    ['--access-token', '-x'],
    ['--prefer-jupyter=no'],
    ['extra'],
    ['--version'],
    ['-v'],
    ['--no-prefer-jupyter'],
  ])
    expect([words, plainServeFlags(words, allOptions)]).toEqual([words, undefined])
})
