import { describe, expect, test } from 'bun:test'
import { SpilledRange } from '../../core/encoded-part'
import { SpilledFile, spilledBytesHeld } from '../../core/spilled-bytes'
import { aliased, aliasOf } from './channel-messages'

const bytes = (s: string) => Buffer.from(s)

describe('a bulk result whose text/plain is its text too', () => {
  test('is framed with text after text/plain, the same bytes', () => {
    const text = JSON.stringify("'é\"x'")
    const payload = bytes(`{"text/html":"<b>","text/plain":${text}}`)
    const event = aliased(payload, Buffer.byteLength(text))!
    expect(event.jsonText()).toBe(`{"text/html":"<b>","text/plain":${text},"text":${text}}`)
    expect(event.results).toEqual({ 'text/html': '<b>', 'text/plain': "'é\"x'", text: "'é\"x'" })
    expect(aliased(bytes(`{"text/plain":"ab"}`), 4)!.jsonText()).toBe('{"text/plain":"ab","text":"ab"}')
  })

  test('is no event when its alias does not end on text/plain (user code writes to fd 3 too)', () => {
    expect(aliased(bytes('{"text/html":"ab"}'), 4)).toBeUndefined()
    expect(aliased(bytes('{"text/plain":"a","b":"cd"}'), 4)).toBeUndefined()
    expect(aliased(bytes('{"a":"x\\"text/plain\\":\\"cd"}'), 5)).toBeUndefined()
    expect(aliased(bytes('{"x":"text/plain":"ab"}'), 4)).toBeUndefined()
  })

  test('in a spilled file, is framed from the file, which is counted while held', () => {
    const text = JSON.stringify(`'${'é'.repeat(600_000)}'`)
    const payload = bytes(`{"text/html":"<b>","text/plain":${text}}`)
    const before = spilledBytesHeld()
    const file = SpilledFile.open(payload.length) as SpilledFile
    expect(file).toBeInstanceOf(SpilledFile)
    expect(spilledBytesHeld()).toBe(before + payload.length)
    expect(file.append(payload.subarray(0, 1001)) ?? file.append(payload.subarray(1001))).toBeUndefined()
    const event = aliased(file, Buffer.byteLength(text))!
    expect(event.parts.filter(p => p instanceof SpilledRange).length).toBe(2)
    expect(event.jsonText()).toBe(`{"text/html":"<b>","text/plain":${text},"text":${text}}`)
    const lie = SpilledFile.open(payload.length) as SpilledFile
    lie.append(bytes(`{"text/html":"<b>","text/plain":${text.slice(0, -1)}x}`))
    expect(aliased(lie, Buffer.byteLength(text))).toBeUndefined()
  })

  test('a header alias that cannot be one is no bulk header', () => {
    expect(aliasOf(undefined, 'stdout', 10)).toBe(0)
    expect(aliasOf(4, 'result', 20)).toBe(4)
    expect(aliasOf(4, 'stdout', 20)).toBe(-1)
    expect(aliasOf(40, 'result', 20)).toBe(-1)
    expect(aliasOf(1.5, 'result', 20)).toBe(-1)
    expect(aliasOf('4', 'result', 20)).toBe(-1)
  })
})
