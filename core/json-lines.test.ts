import { expect, test } from 'bun:test'
import { JsonLines } from './json-lines'

test('lines split across chunks come whole, several in one chunk come apart', () => {
  const l = new JsonLines()
  expect(l.push('{"a":')).toEqual([])
  expect(l.push('1}\n{"b":2}\n{"c"')).toEqual(['{"a":1}', '{"b":2}'])
  expect(l.push(':3}\n\n')).toEqual(['{"c":3}', ''])
})

test('a line longer than the limit is dropped up to its newline; the next one comes', () => {
  const l = new JsonLines(8)
  expect(l.push('12345')).toEqual([])
  expect(l.push('6789')).toEqual([])
  expect(l.push('more\nok')).toEqual([])
  expect(l.push('\n')).toEqual(['ok'])
})

test('a long line in many chunks is searched once per chunk', () => {
  const l = new JsonLines()
  const chunk = 'x'.repeat(64 * 1024)
  for (let i = 0; i < 512; i++) expect(l.push(chunk)).toEqual([])
  const [line] = l.push('\n')
  expect(line!.length).toBe(512 * 64 * 1024)
})

test('a dropped line is replaced by what tooLong makes of its length, when given', () => {
  const l = new JsonLines(8, chars => `dropped ${chars}`)
  expect(l.push('12345')).toEqual([])
  expect(l.push('6789')).toEqual([])
  expect(l.push('more\nok\n')).toEqual(['dropped 13', 'ok'])
  expect(l.push('123456789')).toEqual([])
  expect(l.push('abc\n{}\n')).toEqual(['dropped 12', '{}'])
})
