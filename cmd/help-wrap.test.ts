import { expect, test } from 'bun:test'
import { helpWidth, wrapHelp } from './help-wrap'

const row = '  --port <value>   port to listen on (env EXECD_PORT) (default: 44772) '

test('a description continues under its column; a row that fits keeps its words, less trailing spaces', () => {
  expect(wrapHelp([{ title: 'Options', body: row }], 44)[0]!.body).toBe(
    [
      '  --port <value>   port to listen on (env',
      '                   EXECD_PORT) (default:',
      '                   44772)',
    ].join('\n'),
  )
  expect(wrapHelp([{ title: 'Options', body: row }], 80)[0]!.body).toBe(row.trimEnd())
})

test('too narrow for the column: the description goes under its flags; a long word is never cut', () => {
  expect(wrapHelp([{ title: 'Options', body: row }], 30)[0]!.body).toBe(
    ['  --port <value>', '      port to listen on (env', '      EXECD_PORT) (default:', '      44772)'].join('\n'),
  )
  const long = `  -x  ${'y'.repeat(50)}`
  expect(wrapHelp([{ title: 'Options', body: long }], 30)[0]!.body).toBe(long)
})

test('usage and examples are left whole; the width is the terminal’s, 80 otherwise, never below 20', () => {
  const example = { title: 'Examples', body: `execd serve -- ${'x '.repeat(60)}` }
  expect(wrapHelp([example], 40)).toEqual([example])
  expect(helpWidth({ isTTY: true, columns: 132 })).toBe(132)
  expect(helpWidth({ isTTY: false, columns: 132 })).toBe(80)
  expect(helpWidth({ isTTY: true, columns: 5 })).toBe(20)
  expect(helpWidth({ isTTY: true })).toBe(80)
})

test('a line of prose (a verb’s description) wraps under its own start', () => {
  const what = 'Serve the HTTP API (metrics, files, pty, proxy, command, session, code, isolated)'
  expect(wrapHelp([{ body: what }], 40)[0]!.body).toBe(
    ['Serve the HTTP API (metrics, files, pty,', 'proxy, command, session, code, isolated)'].join('\n'),
  )
  expect(wrapHelp([{ body: `  ${what}` }], 50)[0]!.body).toBe(
    ['  Serve the HTTP API (metrics, files, pty, proxy,', '  command, session, code, isolated)'].join('\n'),
  )
})
