import { expect, test } from 'bun:test'
import { closest } from './suggest'

test('a near miss gets the word meant; a far one, a tie or another first letter gets none', () => {
  const verbs = ['serve', 'ping', 'doctor', 'metrics', 'exec', 'fs', 'completion']
  expect(closest('exce', verbs)).toBe('exec') // swapped
  expect(closest('serv', verbs)).toBe('serve') // dropped
  expect(closest('doctr', verbs)).toBe('doctor')
  expect(closest('metricss', verbs)).toBe('metrics') // doubled
  expect(closest('comp', verbs)).toBe('completion') // a prefix of three letters or more
  expect(closest('zzzz', verbs)).toBeUndefined()
  expect(closest('xec', verbs)).toBeUndefined() // the first letter
  expect(closest('--shell', ['--jshell', '--port'])).toBeUndefined()
  expect(closest('--jsno', ['--json', '--jshell'])).toBe('--json')
  expect(closest('--lin', ['--line', '--lint'])).toBeUndefined() // a tie
  expect(closest('', verbs)).toBeUndefined()
})
