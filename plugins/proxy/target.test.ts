import { describe, expect, test } from 'bun:test'
import { parseTarget, upstreamHeaders, validPort, withoutHopByHop } from './target'

const asObject = (h: Headers) => {
  const out: Record<string, string> = {}
  h.forEach((value, name) => (out[name] = value))
  return out
}

describe('parseTarget', () => {
  test('splits port and path and keeps the query verbatim', () => {
    expect(parseTarget('http://h/proxy/8080/a/b%20c?x=1&y=%2F')).toEqual({
      port: '8080',
      pathAndQuery: '/a/b%20c?x=1&y=%2F',
    })
  })

  test('no path after the port is the root', () => {
    expect(parseTarget('http://h/proxy/3000')).toEqual({ port: '3000', pathAndQuery: '/' })
    expect(parseTarget('http://h/proxy/3000?q')).toEqual({ port: '3000', pathAndQuery: '/?q' })
  })

  test('an empty port is null (400 port is required)', () => {
    expect(parseTarget('http://h/proxy/')).toBeNull()
    expect(parseTarget('http://h/proxy//x')).toBeNull()
  })
})

test('only decimal TCP ports are dialed', () => {
  expect(['1', '80', '65535'].map(validPort)).toEqual([true, true, true])
  expect(['0', '65536', 'abc', '80a', '-1', '123456'].map(validPort)).toEqual([
    false,
    false,
    false,
    false,
    false,
    false,
  ])
})

describe('headers', () => {
  test('the access token, Host and hop-by-hop headers are not forwarded; X-Forwarded-* are set', () => {
    const h = upstreamHeaders(
      new Headers({
        'x-execd-access-token': 'secret',
        host: 'execd:44772',
        connection: 'keep-alive, x-private',
        'x-private': '1',
        'keep-alive': 'timeout=5',
        'x-forwarded-host': 'evil',
        'x-forwarded-for': '10.0.0.1',
        'content-type': 'text/plain',
      }),
      '127.0.0.1',
    )
    expect(asObject(h)).toEqual({
      'content-type': 'text/plain',
      'x-forwarded-for': '10.0.0.1, 127.0.0.1',
      'x-forwarded-proto': 'http',
    })
  })

  test('responses lose only hop-by-hop headers', () => {
    const h = withoutHopByHop(
      new Headers({ 'transfer-encoding': 'chunked', 'set-cookie': 'a=1', 'content-encoding': 'gzip' }),
    )
    expect(asObject(h)).toEqual({ 'set-cookie': 'a=1', 'content-encoding': 'gzip' })
  })
})
