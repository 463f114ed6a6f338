import { describe, expect, test } from 'bun:test'
import { readFileSync } from 'node:fs'
import { connect } from 'node:net'
import { deferAccept } from './defer-accept'
import { createLogger } from './log'

const logged = () => {
  const lines: string[] = []
  return { lines, log: createLogger('info', {}, line => void lines.push(line)) }
}

/** The states (hex, as /proc/net/tcp gives them) of the server's side of connections to `port`. */
const serverStates = (port: number): string[] => {
  const hex = port.toString(16).toUpperCase().padStart(4, '0')
  return readFileSync('/proc/net/tcp', 'latin1')
    .split('\n')
    .slice(1)
    .map(row => row.trim().split(/\s+/))
    .filter(f => f[1]?.endsWith(`:${hex}`) && f[3] !== '0A')
    .map(f => f[3]!)
}

describe.skipIf(process.platform !== 'linux')('deferAccept', () => {
  // 2^32: as a C int it was 0, which turned the option off, Bun's 1 s too.
  test.each([30, 2 ** 32])(
    '%p s: a connection that sends nothing stays half-open in the kernel past Bun’s own 1 s',
    async seconds => {
      const server = Bun.serve({ port: 0, hostname: '127.0.0.1', fetch: () => new Response('ok') })
      const port = Number(server.port)
      const { lines, log } = logged()
      try {
        expect(deferAccept(port, seconds, log)).toBe(1)
        expect(lines).toEqual([])
        const silent = connect(port, '127.0.0.1')
        silent.on('error', () => {})
        await new Promise<void>(resolve => silent.once('connect', () => resolve()))
        // Past the kernel's first SYN-ACK step (1 s), where Bun's own value hands it over.
        await Bun.sleep(2500)
        // SYN_RECV (03), not ESTABLISHED (01): no descriptor of the server's yet.
        expect(serverStates(port)).toEqual(['03'])
        // Its request, when it comes, is served.
        const reply = new Promise<string>(resolve => silent.once('data', chunk => resolve(chunk.toString('latin1'))))
        silent.write('GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
        expect(await reply).toStartWith('HTTP/1.1 200')
        silent.destroy()
      } finally {
        server.stop(true)
      }
    },
  )

  test('says once that it could not, and goes on, when nothing listens on the port', () => {
    const { lines, log } = logged()
    const probe = Bun.serve({ port: 0, hostname: '127.0.0.1', fetch: () => new Response('') })
    const port = Number(probe.port)
    probe.stop(true)
    expect(deferAccept(port, 30, log)).toBe(0)
    expect(lines.length).toBe(1)
    expect(lines[0]).toContain('--defer-accept not applied')
    expect(lines[0]).toContain(`no listening socket found on port ${port}`)
  })

  test('0 leaves the listener alone and says nothing', () => {
    const { lines, log } = logged()
    expect(deferAccept(1, 0, log)).toBe(0)
    expect(lines).toEqual([])
  })
})
