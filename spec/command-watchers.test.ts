/**
 * A watcher of a command (`GET /command/{id}/events`) never paces it: only the request that
 * started a foreground command does. A watcher that stopped reading froze a background job
 * until Bun's idle timeout dropped it (a 100 MB job: 2 s alone, 125 s watched), so anyone
 * holding the token could stall anyone's job. A watcher that falls behind is told what it
 * missed (`events_dropped`), as one that connects late is; the log keeps every byte.
 */
import { expect, test } from 'bun:test'
import { postJson, readSse, waitFor } from './harness'
import { daemonAlone } from './kit/daemon-dir'
import { postUnread, getUnread } from './kit/narrow-reader'

const fx = daemonAlone()

const status = async (id: string) =>
  (await (await fx.d.fetch(`/command/status/${id}`)).json()) as { running: boolean; exit_code?: number }

// 64 MiB of output against a journal of 4 MiB and socket buffers of a few: a paced command
// would stop within the first few MiB.
const BYTES = 64 * 1024 * 1024
const FLOOD = `yes "$(printf '%01000d' 0)" | head -c ${BYTES}`

test('a background command runs to its end while a watcher of its events reads nothing', async () => {
  const started = await readSse(await postJson(fx.d, '/command', { command: FLOOD, background: true }))
  const id = started[0]?.data.text as string
  const watcher = await getUnread(fx.d, `/command/${id}/events`)
  try {
    // A generous bound: alone it takes about a second; stalled, it waited for Bun's 120 s.
    await waitFor('the command to end while its watcher reads nothing', async () => !(await status(id)).running, 60_000)
    expect(await status(id)).toMatchObject({ running: false, exit_code: 0 })
    const log = await fx.d.fetch(`/command/${id}/logs`)
    expect((await log.arrayBuffer()).byteLength).toBe(BYTES)
  } finally {
    watcher.destroy()
  }
})

test('a foreground command too: the watcher does not pace it, its own client still does', async () => {
  const res = await postJson(fx.d, '/command', { command: FLOOD })
  const reader = res.body!.getReader()
  const first = new TextDecoder().decode((await reader.read()).value)
  const id = /"text":"([^"]+)"/.exec(first)?.[1] as string
  expect(id).toBeTruthy()
  const watcher = await getUnread(fx.d, `/command/${id}/events`)
  try {
    let bytes = 0
    let tail = ''
    for (;;) {
      const { value, done } = await reader.read()
      if (done) break
      bytes += value.byteLength
      tail = (tail + new TextDecoder().decode(value)).slice(-400)
    }
    expect(bytes).toBeGreaterThan(BYTES)
    expect(tail).toContain('"type":"execution_complete"')
  } finally {
    watcher.destroy()
  }
})

test('a watcher that falls behind is told what it missed, then follows to the end', async () => {
  const started = await readSse(await postJson(fx.d, '/command', { command: FLOOD, background: true }))
  const id = started[0]?.data.text as string
  const watcher = await getUnread(fx.d, `/command/${id}/events`)
  try {
    await waitFor('the command to end', async () => !(await status(id)).running, 60_000)
    // Now read: what the socket buffers held, the news of the gap, then the rest to the end.
    let text = ''
    let sawGap = false
    await new Promise<void>((resolve, reject) => {
      watcher.on('data', (chunk: Buffer) => {
        text = text.length > 4096 ? text.slice(-4096) + chunk.toString() : text + chunk.toString()
        if (text.includes('"events_dropped"')) sawGap = true
        if (text.includes('"type":"execution_complete"')) resolve()
      })
      watcher.once('error', reject)
      watcher.once('end', resolve)
      watcher.resume()
    })
    expect(sawGap).toBe(true)
    expect(text).toContain('"type":"execution_complete"')
  } finally {
    watcher.destroy()
  }
})

// Its own client paces a foreground command; once execd has killed it there is nothing left to
// pace. The client below read the stream's start, then nothing (a 4 KiB receive window).
for (const how of ['timeout', 'interrupt'] as const) {
  test(`a foreground command killed by its ${how} finishes though its own client reads nothing`, async () => {
    const body = { command: FLOOD, ...(how === 'timeout' ? { timeout: 1500 } : {}) }
    const silent = await postUnread(fx.d, '/command', body)
    try {
      const id = /"type":"init","text":"([^"]+)"/.exec(silent.first)?.[1]
      expect(id).toBeDefined()
      if (how === 'interrupt') {
        // Past the socket's buffers and the journal's: the client holds the command back by now.
        await Bun.sleep(1500)
        expect((await fx.d.fetch(`/command?id=${id}`, { method: 'DELETE' })).status).toBe(200)
      }
      // Before, it stayed "running" (its last output waiting on the client) until the client left.
      await waitFor('the killed command to finish', async () => !(await status(id!)).running, 20_000)
      const log = await (await fx.d.fetch(`/command/${id}/logs`)).text()
      expect(log.length).toBeGreaterThan(0)
    } finally {
      await silent.close()
    }
  }, 60_000)
}
