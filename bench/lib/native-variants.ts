/**
 * The server of bench/native-request.ts: a bare Bun.serve whose POST /<variant> reads a cell's
 * request and answers a cell's five-frame SSE body (the same bytes each time), each variant adding one piece of native work
 * execd's request makes and the relay's (baselines/python-relay.ts) does not. Answers each stdin line with its port.
 */
import { FRAMES, HEADERS } from './cell-answer'

const FRAME_BYTES = new TextEncoder().encode(FRAMES)
const SHARED = new Headers(HEADERS)
const ENCODER = new TextEncoder()
const STRICT = new TextDecoder('utf-8', { fatal: true })

/** The relay's shape: the body as JSON, the answer a string with a literal's headers. */
const relay = async (request: Request) => {
  const { code } = (await request.json()) as { code: string }
  if (typeof code !== 'string') throw new Error('no code')
  return new Response(FRAMES, { status: 200, headers: HEADERS })
}

/** Each variant: the relay plus one thing execd does. */
const variants: Record<string, (request: Request) => Response | Promise<Response>> = {
  relay,
  // The front door's head size: every header visited.
  headBytes: request => {
    let n = request.method.length + request.url.length
    request.headers.forEach((value, name) => {
      n += name.length + value.length + 4
    })
    if (n < 0) throw new Error()
    return relay(request)
  },
  // The header reads of the front door and body read: host, origin, token, length (twice), transfer-encoding.
  headerGets: request => {
    const h = request.headers
    const got = [
      h.get('host'),
      h.get('origin'),
      h.get('x-execd-access-token'),
      h.get('content-length'),
      h.get('content-length'),
      h.has('transfer-encoding'),
    ]
    if (got.length !== 6) throw new Error()
    return relay(request)
  },
  url: request => {
    const url = request.url
    const start = url.indexOf('/', url.indexOf('//') + 2)
    if (url.slice(start).length === 0 || url.includes('?')) throw new Error()
    return relay(request)
  },
  signal: request => {
    if (request.signal.aborted) throw new Error()
    return relay(request)
  },
  // execd's body read: arrayBuffer under a timer, strict decode, then JSON.parse.
  bodyRead: async request => {
    let timer: ReturnType<typeof setTimeout> | undefined
    const late = new Promise<'timeout'>(r => (timer = setTimeout(() => r('timeout'), 60_000)))
    const bytes = await Promise.race([request.arrayBuffer(), late])
    clearTimeout(timer)
    if (bytes === 'timeout') throw new Error('late')
    const { code } = JSON.parse(STRICT.decode(new Uint8Array(bytes))) as { code: string }
    if (typeof code !== 'string') throw new Error('no code')
    return new Response(FRAMES, { status: 200, headers: HEADERS })
  },
  // bodyRead's pieces: the bytes decoded strictly and parsed, no timer …
  bodyBytes: async request => {
    const { code } = JSON.parse(STRICT.decode(new Uint8Array(await request.arrayBuffer()))) as { code: string }
    if (typeof code !== 'string') throw new Error('no code')
    return new Response(FRAMES, { status: 200, headers: HEADERS })
  },
  // … the text as Bun decodes it (not strictly), parsed …
  bodyText: async request => {
    const { code } = JSON.parse(await request.text()) as { code: string }
    if (typeof code !== 'string') throw new Error('no code')
    return new Response(FRAMES, { status: 200, headers: HEADERS })
  },
  // … and the relay's read under a timer armed and cleared.
  bodyTimer: async request => {
    let timer: ReturnType<typeof setTimeout> | undefined
    const late = new Promise<'timeout'>(r => (timer = setTimeout(() => r('timeout'), 60_000)))
    const body = await Promise.race([request.json(), late])
    clearTimeout(timer)
    if (body === 'timeout' || typeof (body as { code: unknown }).code !== 'string') throw new Error('no code')
    return new Response(FRAMES, { status: 200, headers: HEADERS })
  },
  // The answer as bytes (encoded once) instead of a string.
  bytesBody: async request => {
    await request.json()
    return new Response(FRAME_BYTES, { status: 200, headers: HEADERS })
  },
  // The answer encoded to bytes on each request (what execd would do to send bytes).
  encodedBody: async request => {
    await request.json()
    return new Response(ENCODER.encode(FRAMES), { status: 200, headers: HEADERS })
  },
  // The relay again: the figure two identical variants differ by is the noise.
  relayAgain: request => relay(request),
  // One Headers object shared by every answer instead of a literal.
  sharedHeaders: async request => {
    await request.json()
    return new Response(FRAMES, { status: 200, headers: SHARED })
  },
  // The answer as a stream of one chunk (what a streamed answer costs).
  streamBody: async request => {
    await request.json()
    const direct: Bun.DirectUnderlyingSource = {
      type: 'direct',
      pull(controller) {
        controller.write(FRAMES)
        controller.close()
      },
    }
    const body = new ReadableStream(direct as unknown as UnderlyingDefaultSource<Uint8Array>)
    return new Response(body, { status: 200, headers: HEADERS })
  },
  // A `; charset=utf-8` on the type.
  charset: async request => {
    await request.json()
    return new Response(FRAMES, {
      status: 200,
      headers: { ...HEADERS, 'content-type': 'text/event-stream; charset=utf-8' },
    })
  },
}

const server = Bun.serve({
  hostname: '127.0.0.1',
  port: 0,
  fetch(request) {
    if (request.method === 'GET') return new Response(null, { status: 200 })
    const url = request.url
    const name = url.slice(url.lastIndexOf('/') + 1)
    return variants[name]!(request)
  },
})
for await (const _line of console) console.log(server.port)

export {}
