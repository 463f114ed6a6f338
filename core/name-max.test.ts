import { expect, test } from 'bun:test'
import { NAME_MAX, nameStartWithin } from './name-max'

test('a name that fits beside the room asked is itself', () => {
  const name = Buffer.from('short')
  expect(nameStartWithin(name, 30)).toBe(name)
})

test('a long name is cut to leave the room, at a whole UTF-8 character', () => {
  for (const name of ['a'.repeat(255), 'é'.repeat(127), '語'.repeat(85), '🙂'.repeat(63)]) {
    const cut = nameStartWithin(Buffer.from(name), 25)
    expect(cut.length).toBeLessThanOrEqual(NAME_MAX - 25)
    expect(cut.length).toBeGreaterThan(NAME_MAX - 25 - 4)
    expect(name.startsWith(cut.toString('utf8'))).toBe(true)
  }
})

test('a name that is not UTF-8 is cut as bytes, stepping back no further than a character could be', () => {
  expect(nameStartWithin(Buffer.alloc(255, 0x80), 25).length).toBe(227)
  expect(nameStartWithin(Buffer.alloc(255, 0xff), 25).length).toBe(230)
})
