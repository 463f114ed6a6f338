/**
 * A Jupyter server that lies, for the bridge's attacks: the REST calls and the kernel channel
 * (the server's JSON WebSocket) the bridge uses, with each kernelspec's name choosing how its
 * kernel misbehaves. It runs in the test's process; no kernel process exists behind it.
 */

type Json = Record<string, any>

/** How a kernel answers an execute_request: the frames it sends (text, or objects sent as JSON). */
export type Behaviour = (request: Json, reply: Replier) => void

export interface Replier {
  /** A message whose parent is the request. */
  send(msgType: string, content: Json, channel?: string): void
  raw(frame: string | Uint8Array): void
  close(): void
  /** The kernel vanishes: the REST model answers 404 from now on. */
  vanish(): void
}

export interface FakeJupyter {
  url: string
  token: string
  /** Kernel ids that exist now (started and not deleted). */
  kernels(): string[]
  /** Every REST request as `METHOD path`. */
  requests: string[]
  /** The code of every execute_request, in order. */
  executed: string[]
  stop(): void
}

export interface FakeSpecs {
  /** The kernelspecs answer as sent (an object, or text sent as is). */
  specsBody?: Json | string
  /** POST /api/kernels' answer (default: a fresh model). */
  startBody?: (id: string) => Json | string | null
  behaviours: Record<string, Behaviour>
  /** Awaited before a kernel channel's upgrade is answered (a server slow to open it). */
  channelGate?: () => Promise<void>
  /** Answers a request before the fake does (undefined: the fake answers). */
  route?: (req: Request, url: URL) => Response | Promise<Response> | undefined
}

/** The usual replies of a cell that printed `text`: busy, stream, reply, idle. */
export function okCell(text = 'ok\n'): Behaviour {
  return (_req, r) => {
    r.send('status', { execution_state: 'busy' })
    r.send('stream', { name: 'stdout', text })
    r.send('execute_reply', { status: 'ok', execution_count: 1 }, 'shell')
    r.send('status', { execution_state: 'idle' })
  }
}

export function startFakeJupyter(opts: FakeSpecs): FakeJupyter {
  const token = `fj-${crypto.randomUUID()}`
  const live = new Map<string, string>()
  const requests: string[] = []
  const executed: string[] = []
  const specsBody = opts.specsBody ?? {
    default: 'none',
    kernelspecs: Object.fromEntries(
      Object.keys(opts.behaviours).map(name => [
        name,
        { name, spec: { language: name, display_name: name, argv: [] }, resources: {} },
      ]),
    ),
  }
  const json = (body: unknown, status = 200) =>
    new Response(typeof body === 'string' ? body : JSON.stringify(body), {
      status,
      headers: { 'Content-Type': 'application/json' },
    })
  const server = Bun.serve<{ kernel: string; session: string }>({
    port: 0,
    hostname: '127.0.0.1',
    fetch(req, srv) {
      const url = new URL(req.url)
      requests.push(`${req.method} ${url.pathname}`)
      const own = opts.route?.(req, url)
      if (own) return own
      const m = url.pathname.match(/^\/api\/kernels\/([^/]+)(\/channels|\/interrupt)?$/)
      if (m?.[2] === '/channels') {
        if (!live.has(decodeURIComponent(m[1]!))) return json({ message: 'no kernel' }, 404)
        const upgrade = () => {
          const ok = srv.upgrade(req, {
            data: { kernel: decodeURIComponent(m[1]!), session: url.searchParams.get('session_id') ?? '' },
          })
          return ok ? undefined : json({ message: 'upgrade' }, 400)
        }
        return opts.channelGate ? opts.channelGate().then(upgrade) : upgrade()
      }
      if (url.pathname === '/api/kernelspecs') return json(specsBody)
      if (url.pathname === '/api/kernels' && req.method === 'POST') {
        return req.json().then((b: any) => {
          const id = crypto.randomUUID()
          live.set(id, String(b?.name))
          return json(opts.startBody ? opts.startBody(id) : { id, name: b?.name, execution_state: 'starting' }, 201)
        })
      }
      if (m && !m[2]) {
        const id = decodeURIComponent(m[1]!)
        if (!live.has(id)) return json({ message: 'no such kernel' }, 404)
        if (req.method === 'DELETE') {
          live.delete(id)
          return new Response(null, { status: 204 })
        }
        return json({ id, name: live.get(id), execution_state: 'busy' })
      }
      if (m?.[2] === '/interrupt') return new Response(null, { status: 204 })
      return json({ message: 'not here' }, 404)
    },
    websocket: {
      maxPayloadLength: 1 << 30,
      // Bun drops what is sent past 16 MB not yet written: a behaviour's frames all go, in order.
      backpressureLimit: 1 << 30,
      message(ws, message) {
        const req = JSON.parse(String(message)) as Json
        const kernel = ws.data.kernel
        if (req.header?.msg_type !== 'execute_request') return
        executed.push(String(req.content?.code))
        const behaviour = opts.behaviours[live.get(kernel) ?? '']
        if (!behaviour) return
        const reply: Replier = {
          send(msgType, content, channel = 'iopub') {
            ws.send(
              JSON.stringify({
                header: { msg_id: crypto.randomUUID(), msg_type: msgType, session: 'fake' },
                parent_header: { msg_id: req.header.msg_id, msg_type: 'execute_request' },
                msg_type: msgType,
                content,
                metadata: {},
                channel,
              }),
            )
          },
          raw: frame => void ws.send(frame),
          close: () => ws.close(),
          vanish: () => void live.delete(kernel),
        }
        behaviour(req, reply)
      },
    },
  })
  return {
    url: `http://127.0.0.1:${server.port}`,
    token,
    kernels: () => [...live.keys()],
    requests,
    executed,
    stop: () => server.stop(true),
  }
}
