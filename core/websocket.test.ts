import { expect, test } from 'bun:test'
import { type SocketHandlers, socketDispatch, upgradeSocket } from './websocket'

test('each upgraded socket is driven by the handlers its route passed; a plain request is not upgraded', async () => {
  const events: string[] = []
  const server = Bun.serve<SocketHandlers>({
    port: 0,
    hostname: '127.0.0.1',
    fetch(request, srv) {
      const name = new URL(request.url).pathname.slice(1)
      const handlers: SocketHandlers = {
        open: ws => void events.push(`${name}:open`),
        message: (ws, m) => void ws.sendText(`${name}:${m}`),
        close: () => void events.push(`${name}:close`),
      }
      if (upgradeSocket(srv, request, handlers, { 'x-route': name })) return undefined
      return new Response('no upgrade', { status: 400 })
    },
    websocket: socketDispatch,
  })
  try {
    expect((await fetch(`http://127.0.0.1:${server.port}/a`)).status).toBe(400)
    const replies: string[] = []
    for (const name of ['a', 'b']) {
      const ws = new WebSocket(`ws://127.0.0.1:${server.port}/${name}`)
      const reply = new Promise<string>(resolve => (ws.onmessage = e => resolve(String(e.data))))
      await new Promise(resolve => (ws.onopen = resolve))
      ws.send('hi')
      replies.push(await reply)
      const closed = new Promise(resolve => (ws.onclose = resolve))
      ws.close()
      await closed
    }
    expect(replies).toEqual(['a:hi', 'b:hi'])
    for (let i = 0; i < 100 && events.length < 4; i++) await Bun.sleep(10)
    expect(events).toEqual(['a:open', 'a:close', 'b:open', 'b:close'])
  } finally {
    server.stop(true)
  }
})

test('a handler that throws closes its socket with 1011 and the server goes on', async () => {
  const server = Bun.serve<SocketHandlers>({
    port: 0,
    hostname: '127.0.0.1',
    fetch(request, srv) {
      const handlers: SocketHandlers = {
        message: () => {
          throw new RangeError('a route bug')
        },
      }
      if (upgradeSocket(srv, request, handlers)) return undefined
      return new Response('alive')
    },
    websocket: socketDispatch,
  })
  try {
    const ws = new WebSocket(`ws://127.0.0.1:${server.port}/x`)
    await new Promise(resolve => (ws.onopen = resolve))
    const closed = new Promise<number>(resolve => (ws.onclose = e => resolve(e.code)))
    ws.send('boom')
    expect(await closed).toBe(1011)
    expect(await (await fetch(`http://127.0.0.1:${server.port}/`)).text()).toBe('alive')
  } finally {
    server.stop(true)
  }
})
