/**
 * execd's port is its own: no second execd, and no process asking for SO_REUSEPORT, binds it
 * beside the first. Shared, the kernel spread new connections over both listeners, and the
 * other one received requests (their tokens included) meant for execd.
 */
import { expect, test } from 'bun:test'
import { daemonAlone } from './kit/daemon-dir'
import { serveStoppedAtListening } from './kit/serve-stop'

const fx = daemonAlone()

const port = () => Number(new URL(fx.d.url).port)

test('a second execd on the same port fails to start, with one line, and the first serves on', async () => {
  // Run until it exits or says it listens (it did: both served, each a share of the connections).
  const second = await serveStoppedAtListening(
    ['--port', String(port()), '--host', '127.0.0.1'],
    { EXECD_ACCESS_TOKEN: '' },
    { says: 'execd listening', signal: 'SIGKILL' },
  )
  const { stderr } = second
  expect(stderr).not.toContain('execd listening')
  expect(second.exited).toBe(1)
  expect(stderr.trim().split('\n')).toEqual([expect.stringMatching(/^execd: cannot listen on 127\.0\.0\.1:\d+: /)])
  expect((await fx.d.fetch('/ping')).status).toBe(200)
})

test('a socket asking for SO_REUSEPORT cannot bind beside it', () => {
  let bound: ReturnType<typeof Bun.serve> | undefined
  try {
    bound = Bun.serve({ hostname: '127.0.0.1', port: port(), reusePort: true, fetch: () => new Response('not execd') })
  } catch {}
  bound?.stop(true)
  expect(bound).toBeUndefined()
})
