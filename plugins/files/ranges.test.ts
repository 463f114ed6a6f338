import { describe, expect, test } from 'bun:test'
import { ExecdError } from '../../core/errors'
import { contentDisposition, parseRange } from './ranges'

const rangeError = (header: string, size: number) => {
  try {
    parseRange(header, size)
  } catch (e) {
    return e as ExecdError
  }
  throw new Error('no error')
}

describe('parseRange', () => {
  test('a-b, a-, -n', () => {
    expect(parseRange('bytes=0-9', 100)).toEqual({ start: 0, end: 9 })
    expect(parseRange('bytes=90-', 100)).toEqual({ start: 90, end: 99 })
    expect(parseRange('bytes=-5', 100)).toEqual({ start: 95, end: 99 })
  })
  test('the end is clipped to the file, a suffix longer than the file is all of it', () => {
    expect(parseRange('bytes=50-500', 100)).toEqual({ start: 50, end: 99 })
    expect(parseRange('bytes=-500', 100)).toEqual({ start: 0, end: 99 })
  })
  test('of several ranges, the one that can be satisfied is served; two or more: none (the whole file)', () => {
    expect(parseRange('bytes=200-300, 5-6', 100)).toEqual({ start: 5, end: 6 })
    expect(parseRange('bytes=0-1,5-6', 100)).toBeUndefined()
    expect(parseRange('bytes=0-1,0-1', 100)).toBeUndefined()
    expect(parseRange('bytes=-1,0-', 100)).toBeUndefined()
  })
  test('unsatisfiable and malformed ranges are 416 with Content-Range bytes */size', () => {
    for (const h of ['bytes=100-', 'bytes=-0', 'bytes=foo', 'bytes=5-1', 'items=0-1', 'bytes=', 'bytes=-']) {
      const e = rangeError(h, 100)
      expect(e.status).toBe(416)
      expect(e.code).toBe('RANGE_NOT_SATISFIABLE')
      expect(e.headers?.['content-range']).toBe('bytes */100')
    }
  })
  test('no range of an empty file is satisfiable', () => {
    expect(rangeError('bytes=0-', 0).status).toBe(416)
    expect(rangeError('bytes=-1', 0).status).toBe(416)
  })
})

describe('contentDisposition', () => {
  test('ASCII names are quoted as they are', () => {
    expect(contentDisposition('report.txt')).toBe('attachment; filename="report.txt"')
  })
  test('non-ASCII names are percent-encoded in both parameters, as the reference', () => {
    expect(contentDisposition('测试文件.txt')).toBe(
      `attachment; filename="%E6%B5%8B%E8%AF%95%E6%96%87%E4%BB%B6.txt"; filename*=UTF-8''%E6%B5%8B%E8%AF%95%E6%96%87%E4%BB%B6.txt`,
    )
    expect(contentDisposition('café & co.txt')).toBe(
      `attachment; filename="caf%C3%A9%20&%20co.txt"; filename*=UTF-8''caf%C3%A9%20&%20co.txt`,
    )
  })
  test('an ASCII name with a control character, a quote or a backslash is percent-encoded too', () => {
    expect(contentDisposition('new\nline')).toBe(`attachment; filename="new%0Aline"; filename*=UTF-8''new%0Aline`)
    expect(contentDisposition("a\"; filename*=UTF-8''x.sh")).toBe(
      `attachment; filename="a%22%3B%20filename%2A=UTF-8%27%27x.sh"; filename*=UTF-8''a%22%3B%20filename%2A=UTF-8%27%27x.sh`,
    )
    expect(contentDisposition('back\\slash')).toBe(`attachment; filename="back%5Cslash"; filename*=UTF-8''back%5Cslash`)
    expect(contentDisposition(Buffer.from('tab\there'))).toBe(
      `attachment; filename="tab%09here"; filename*=UTF-8''tab%09here`,
    )
  })
  test('a name that is not UTF-8 has its bytes percent-encoded as they are (Go escapes bytes)', () => {
    expect(contentDisposition(Buffer.from([0x61, 0xff, 0x2e, 0x74]))).toBe(
      `attachment; filename="a%FF.t"; filename*=UTF-8''a%FF.t`,
    )
    expect(contentDisposition(Buffer.from('plain.txt'))).toBe('attachment; filename="plain.txt"')
  })
})
