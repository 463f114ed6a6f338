/** The tenth pass's proxy finding as a regression case of the fuzz suite. */
import { connect } from 'node:net'
import type { Finding } from './campaign'
import { expectStatus, request } from './probe'
import type { World } from './world'

/** Bun's HTTP client sends 256 requests at once and queued the next one unanswered. */
const CLIENT_POOL = 256

/**
 * 256 proxied requests held by an upstream waiting for a body that never comes, then one more:
 * a 503 naming --max-proxy-requests at once (it waited for one of the 256 to end), and once the
 * callers leave, proxied requests are answered again.
 */
export async function proxyInFlight(w: World): Promise<Finding[]> {
  let arrived = 0
  let refused = 0
  const upstream = Bun.serve({
    port: 0,
    hostname: '127.0.0.1',
    fetch: async req => (arrived++, new Response(await req.arrayBuffer())),
  })
  const port = new URL(w.daemon.url).port
  const sockets = Array.from({ length: CLIENT_POOL }, () => {
    const s = connect(Number(port), '127.0.0.1')
    s.on('error', () => {})
    s.once('data', d => void (d.toString('latin1').startsWith('HTTP/1.1 503') && refused++))
    s.write(
      `POST /proxy/${upstream.port}/hold HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n` +
        `X-EXECD-ACCESS-TOKEN: ${w.daemon.token}\r\nContent-Length: 10\r\n\r\n`,
    )
    return s
  })
  const op = 'GET /proxy/*'
  const input = `GET /proxy/${upstream.port}/x with ${CLIENT_POOL} proxied requests held by an unfinished body`
  try {
    // Each held request has reached the upstream or been refused before the one that must not wait.
    for (let i = 0; i < 600 && arrived + refused < CLIENT_POOL; i++) await Bun.sleep(50)
    const out = expectStatus(op, input, await request(w, 'GET', `/proxy/${upstream.port}/x`, undefined, 10_000), 503)
    for (const s of sockets) s.destroy()
    let again = await request(w, 'GET', `/proxy/${upstream.port}/x`, undefined, 10_000)
    for (let i = 0; i < 100 && again.status !== 200; i++) {
      await Bun.sleep(50)
      again = await request(w, 'GET', `/proxy/${upstream.port}/x`, undefined, 10_000)
    }
    return [...out, ...expectStatus(op, `${input}, after they left`, again, 200)]
  } finally {
    for (const s of sockets) s.destroy()
    upstream.stop(true)
  }
}
