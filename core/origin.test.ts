import { describe, expect, test } from 'bun:test'
import { createOriginGuard, isLoopbackHost, listOption } from './origin'

const headers = (h: Record<string, string>) => new Headers(h)

describe('isLoopbackHost', () => {
  test('localhost, 127.0.0.0/8 and [::1], with or without a port', () => {
    for (const h of ['localhost', 'localhost:44772', '127.0.0.1', '127.1.2.3:80', '[::1]', '[::1]:1']) {
      expect(isLoopbackHost(h)).toBe(true)
    }
  })

  test('anything else, look-alikes included, is not', () => {
    for (const h of [
      '',
      'evil.example',
      'localhost.evil.example',
      '127.0.0.1.evil',
      '128.0.0.1',
      '[::2]',
      'localhost:x',
      '::1',
    ]) {
      expect(isLoopbackHost(h)).toBe(false)
    }
  })
})

describe('createOriginGuard', () => {
  const open = createOriginGuard({ checkHost: true, allowedHosts: listOption('sandbox, box:8080'), allowedOrigins: [] })
  const tokened = createOriginGuard({
    checkHost: false,
    allowedHosts: [],
    allowedOrigins: listOption('http://ok.example/'),
  })

  test('without a token: loopback or allowed Host only', () => {
    expect(open(headers({ host: '127.0.0.1:1' }))).toBeUndefined()
    expect(open(headers({ host: 'sandbox:9' }))).toBeUndefined()
    expect(open(headers({ host: 'box:8080' }))).toBeUndefined()
    expect(open(headers({ host: 'box:8081' }))).toContain('Host')
    expect(open(headers({ host: 'evil.example:1' }))).toContain('Host')
    expect(open(headers({}))).toContain('Host')
    const any = createOriginGuard({ checkHost: true, allowedHosts: ['*'], allowedOrigins: [] })
    expect(any(headers({ host: '10.1.2.3:44772' }))).toBeUndefined()
  })

  test('an Origin must be our own or allowed; no Origin is no browser', () => {
    expect(open(headers({ host: 'localhost:5', origin: 'http://localhost:5' }))).toBeUndefined()
    expect(open(headers({ host: 'localhost:5', origin: 'http://localhost:6' }))).toContain('cross-origin')
    expect(open(headers({ host: 'localhost:5', origin: 'null' }))).toContain('cross-origin')
    expect(tokened(headers({ host: 'anything' }))).toBeUndefined()
    expect(tokened(headers({ host: 'anything', origin: 'http://evil.example' }))).toContain('cross-origin')
    expect(tokened(headers({ host: 'anything', origin: 'http://OK.example' }))).toBeUndefined()
  })
})
