/** A WebSocket upstream for the proxy's tests: every message is sent back; a plain request is a 400. */
export function wsEchoServer(maxPayloadLength?: number): ReturnType<typeof Bun.serve> {
  return Bun.serve({
    port: 0,
    hostname: '127.0.0.1',
    fetch: (req, server) =>
      server.upgrade(req, { data: undefined }) ? undefined : new Response('no', { status: 400 }),
    websocket: { ...(maxPayloadLength ? { maxPayloadLength } : {}), message: (ws, m) => void ws.send(m) },
  })
}
