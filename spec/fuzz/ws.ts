/**
 * The PTY WebSocket under hostile frames: resize with sizes a terminal cannot take, unknown
 * types, every binary prefix byte, invalid UTF-8, nesting. The terminal runs `sleep 5` (what
 * it reads from stdin goes nowhere). After the frames a ping must still get its pong, unless
 * the process ended (an exit frame and a normal close).
 */
import fc from 'fast-check'
import type { Violation } from './check'
import type { WsCase, WsFrame } from './cases'
import { deep, hostileNumber, hostileString, hostileValue, type J, Raw, toBytes } from './values'
import { removeOne, type World } from './world'

const size = fc.oneof(
  fc.constantFrom<J>(
    65536,
    1e5,
    1e9,
    2 ** 32,
    70000,
    -1,
    0,
    1,
    80,
    1.5,
    1e308,
    -1e308,
    'NaN',
    'Infinity',
    null,
    '80',
    [],
    {},
  ),
  fc.constantFrom<J>(new Raw('1e999'), new Raw('NaN')),
  hostileNumber,
)
const frame: fc.Arbitrary<WsFrame> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({ type: fc.constant<J>('resize'), cols: size, rows: size }).map(json => ({ json: json as J })),
  },
  {
    weight: 1,
    arbitrary: fc.record({ type: fc.oneof(hostileString, hostileValue) }).map(json => ({ json: json as J })),
  },
  {
    weight: 1,
    arbitrary: fc
      .constantFrom<J>('SIGINT', 'SIGKILL', 'KILL', 'SIGSTOP', '9', '', null, 'SIGTERM', 9, 'SIGINT\u0000')
      .map(signal => ({ json: { type: 'signal', signal } })),
  },
  { weight: 1, arbitrary: fc.oneof(hostileString, hostileValue).map(data => ({ json: { type: 'stdin', data } })) },
  {
    weight: 1,
    arbitrary: fc.constantFrom<WsFrame>(
      { json: { type: 'ping' } },
      { text: 'not json' },
      { text: '' },
      { text: 'null' },
      { text: '[]' },
      { text: '"x"' },
      { text: 'x'.repeat(70_000) },
    ),
  },
  { weight: 1, arbitrary: deep.map(json => ({ json: { type: 'resize', cols: json } as J })) },
  {
    weight: 3,
    arbitrary: fc
      .tuple(
        fc.integer({ min: 0, max: 255 }),
        fc.oneof(
          fc.constant<number[]>([]),
          fc.constantFrom([0xff, 0xfe], [0xc0, 0xaf], [0x0a]),
          fc.array(fc.integer({ min: 0, max: 255 }), { maxLength: 16 }),
        ),
      )
      .map(([prefix, rest]) => ({ binary: [prefix, ...rest] })),
  },
  { weight: 1, arbitrary: fc.constant<WsFrame>({ binary: [] }) },
)

const QUERY = ['', '0', '1', '-1', 'true', 'false', '1e308', 'NaN', '99999999999999999999', 'x'.repeat(5000)]
export const wsCase: fc.Arbitrary<WsCase> = fc.record({
  kind: fc.constant('ws' as const),
  query: fc.array(fc.tuple(fc.constantFrom('pty', 'since', 'takeover', 'x'), fc.constantFrom(...QUERY)), {
    maxLength: 3,
  }),
  frames: fc.array(frame, { minLength: 1, maxLength: 12 }),
})

export async function runWs(c: WsCase, w: World): Promise<Violation[]> {
  const created = await w.daemon.fetch('/pty', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ command: 'sleep 5' }),
  })
  if (created.status !== 201)
    return [{ kind: 'ws', detail: `POST /pty {command:"sleep 5"} answered ${created.status}` }]
  const id = (await created.json()).session_id as string
  w.created.add('pty', id)
  try {
    return await drive(c, w, id)
  } finally {
    await removeOne(w.daemon, w.created, 'pty', id)
  }
}

async function drive(c: WsCase, w: World, id: string): Promise<Violation[]> {
  const q = c.query.map(([k, v]) => `${k}=${encodeURIComponent(v)}`).join('&')
  const url = `${w.daemon.url.replace('http', 'ws')}/pty/${id}/ws${q ? `?${q}` : ''}`
  const ws = new WebSocket(url, { headers: { 'X-EXECD-ACCESS-TOKEN': w.daemon.token } } as unknown as string[])
  ws.binaryType = 'arraybuffer'
  const texts: string[] = []
  let closed: { code: number; reason: string } | null = null
  ws.onmessage = e => typeof e.data === 'string' && texts.push(e.data)
  ws.onclose = e => (closed = { code: e.code, reason: e.reason })
  const opened = await new Promise<boolean>(resolve => {
    ws.onopen = () => resolve(true)
    ws.onerror = () => resolve(false)
    setTimeout(() => resolve(false), 5000)
  })
  // A refused handshake (odd query) is an HTTP answer, checked by the HTTP cases.
  if (!opened) return []
  for (const f of c.frames) {
    if (closed) break
    if ('binary' in f) ws.send(Uint8Array.from(f.binary))
    else if ('text' in f) ws.send(f.text)
    else ws.send(new TextDecoder().decode(toBytes(f.json, () => null)))
  }
  if (!closed) ws.send('{"type":"ping"}')
  const deadline = Date.now() + 5000
  const ended = () => closed !== null || texts.some(t => t.includes('"pong"') || t.includes('"exit"'))
  while (!ended() && Date.now() < deadline) await Bun.sleep(10)
  ws.close()
  const out: Violation[] = []
  const c2 = closed as { code: number; reason: string } | null
  if (!ended()) out.push({ kind: 'ws', detail: 'no pong within 5 s after the frames, socket still open' })
  else if (c2 && ![1000, 4001].includes(c2.code) && !texts.some(t => t.includes('"exit"')))
    out.push({ kind: 'ws', detail: `socket closed ${c2.code} ${c2.reason} without an exit frame` })
  return out
}
