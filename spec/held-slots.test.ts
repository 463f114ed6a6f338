/**
 * Who holds a capped pool (core/held-slots.ts): a refusal's log line names the holders of the
 * full pool, and SIGUSR2 writes one `slots held` line with every pool — what the fuzz's
 * quiescence check (spec/fuzz/quiescence.ts) reads to tell a leak from a burst. The wire's
 * `{code, message}` stays as it was.
 */
import { expect, test } from 'bun:test'
import { askHeld, quiescence } from './fuzz/quiescence'
import { type Daemon } from './harness'
import { daemonAlone } from './kit/daemon-dir'
import { logLine } from './kit/log-line'

const fx = daemonAlone(() => ['--max-streams', '2', '--log-level', 'warn'])

const post = (path: string, body: unknown, signal?: AbortSignal) =>
  fx.d.fetch(path, {
    method: 'POST',
    body: JSON.stringify(body),
    headers: { 'content-type': 'application/json' },
    signal,
  })

/** A command's stream, its first bytes read and the rest left unread until `abort`. */
async function openStream(abort: AbortController): Promise<ReadableStreamDefaultReader<Uint8Array>> {
  const res = await post('/command', { command: 'echo held; sleep 30' }, abort.signal)
  expect(res.status).toBe(200)
  const reader = res.body!.getReader()
  await reader.read()
  return reader
}

test('a full pool refuses with the same JSON, and its log line says who held it', async () => {
  const abort = new AbortController()
  const readers = [await openStream(abort), await openStream(abort)]
  const res = await post('/command', { command: 'true' })
  expect(res.status).toBe(503)
  expect(await res.json()).toEqual({
    code: 'SERVICE_UNAVAILABLE',
    message: 'limit reached: at most 2 concurrent streams (--max-streams); close one or raise the limit',
  })
  const held = (await logLine(fx.d, ['"msg":"request refused"'])).held
  expect(held).toMatchObject({ what: 'concurrent streams', max: 2, held: 2, byKind: { 'POST /command': 2 } })
  expect(held.oldest.map((s: { kind: string }) => s.kind)).toEqual(['POST /command', 'POST /command'])

  // SIGUSR2: every pool, this one full; while its clients stay, the check names it.
  const report = await askHeld(fx.d)
  const streams = report!.pools.find(p => p.what === 'concurrent streams')
  expect(streams).toMatchObject({ held: 2, byKind: { 'POST /command': 2 } })
  expect(streams!.oldest.every(s => s.ms >= 0 && s.ms < 60_000)).toBe(true)
  const spans = [{ start: Date.now() - 5000, end: Date.now(), label: 'the two streams' }]
  const leaks = await quiescence(fx.d, spans, 300)
  expect(leaks.map(f => f.op)).toEqual(expect.arrayContaining(['quiescence concurrent streams']))
  expect(leaks.find(f => f.op === 'quiescence concurrent streams')!.example).toContain('the two streams')

  // The clients leave: the streams give their slots back (the commands run on, and are deleted).
  abort.abort()
  for (const r of readers) await r.cancel().catch(() => {})
  const after = await askHeldUntil(fx.d, p => p.what === 'concurrent streams' && p.held === 0)
  expect(after).toBe(true)
}, 60_000)

test('sessions hold one slot each while they live, and none once deleted', async () => {
  const made = await post('/session', {})
  const { session_id } = (await made.json()) as { session_id: string }
  const report = await askHeld(fx.d)
  expect(report!.pools.find(p => p.what === 'sessions')).toMatchObject({ held: 1, live: 1 })
  await (await fx.d.fetch(`/session/${session_id}`, { method: 'DELETE' })).arrayBuffer()
  expect(await askHeldUntil(fx.d, p => p.what === 'sessions' && p.held === 0 && p.live === 0)).toBe(true)
}, 30_000)

test('a storm of SIGUSR2 is at most about ten lines a second, and execd serves on', async () => {
  const before = count(fx.d.logs())
  for (let i = 0; i < 2000; i++) fx.d.proc.kill('SIGUSR2')
  await Bun.sleep(500)
  expect((await fx.d.fetch('/ping')).status).toBe(200)
  expect(count(fx.d.logs()) - before).toBeLessThanOrEqual(12)
}, 30_000)

const count = (logs: string) => logs.split('"msg":"slots held"').length - 1

/** Asks until `ok` holds for some pool (the daemon notices a client's leaving on its own time). */
async function askHeldUntil(daemon: Daemon, ok: (p: { what: string; held: number; live?: number }) => boolean) {
  for (let i = 0; i < 40; i++) {
    const r = await askHeld(daemon)
    if (r?.pools.some(ok)) return true
    await Bun.sleep(250)
  }
  return false
}
