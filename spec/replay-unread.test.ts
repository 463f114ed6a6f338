/**
 * What an unread answer of a finished command holds: 40 MB of output asked again by clients that
 * never read — the log from cursor 0 (a file body, its copy within --download-copy-max)
 * and the events' replay (the journal's bounded tail). Each answer holds its slot and what the
 * kernel's buffers take, never its whole body, so execd's memory does not grow by a body per
 * client (measured at stop 51: +2 MiB for 200 unread replays, +34 MiB for 200 unread logs).
 * Each such answer is under the stall rule, whose looks read TCP_INFO (core/send-stall.ts): on
 * main's build that call was not bound and a look could end execd. Outcomes are counted, never
 * timed.
 */
import { expect, test } from 'bun:test'
import { connect, type Socket } from 'node:net'
import { postJson, readSse, rssMiB, waitFor } from './harness'
import { daemonAlone } from './kit/daemon-dir'
import { portOf } from './raw-http'

const CLIENTS = 50
const fx = daemonAlone(() => ({ env: { EXECD_MAX_STREAMS: '0' } }))

/** A raw GET whose answer is never read. */
function unread(path: string): Socket {
  const socket = connect(portOf(fx.d.url), '127.0.0.1')
  socket.pause()
  socket.on('error', () => {})
  socket.write(`GET ${path} HTTP/1.1\r\nHost: x\r\nX-EXECD-ACCESS-TOKEN: ${fx.d.token}\r\n\r\n`)
  return socket
}

test(`${CLIENTS} unread logs and ${CLIENTS} unread replays of a finished 40 MB command hold execd to far less than a body each`, async () => {
  // Lines of 4,000 bytes: `yes` alone is millions of events.
  const [init] = await readSse(
    await postJson(fx.d, '/command', {
      command: `yes "$(head -c 4000 /dev/zero | tr '\\0' a)" | head -c 40000000`,
      background: true,
    }),
  )
  const id = init?.data.text as string
  await waitFor('the command to end', async () => !(await (await fx.d.fetch(`/command/status/${id}`)).json()).running)
  const before = rssMiB(fx.d.proc.pid)
  const sockets: Socket[] = []
  try {
    for (let i = 0; i < CLIENTS; i++) sockets.push(unread(`/command/${id}/logs?cursor=0`))
    for (let i = 0; i < CLIENTS; i++) sockets.push(unread(`/command/${id}/events`))
    let peak = before
    // Several looks of the stall rule at each answer (one a second), none of them its period.
    for (let look = 0; look < 12; look++) {
      await Bun.sleep(500)
      peak = Math.max(peak, rssMiB(fx.d.proc.pid))
    }
    // Still answering, and whole bodies (2 GB for the logs alone) far from memory: +10–40 MiB here.
    expect((await fx.d.fetch('/ping')).status).toBe(200)
    expect(peak - before).toBeLessThan(400)
    expect(fx.d.logs()).not.toContain('uncaught error')
  } finally {
    for (const s of sockets) s.destroy()
  }
}, 120_000)
