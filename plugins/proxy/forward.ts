/** The HTTP half of the proxy: one request to the upstream, both bodies streamed. */
import { ExecdError, errorResponse, limitReached } from '../../core/errors'
import { setLongTimeout } from '../../core/timers'
import { requestVerbatim } from './verbatim'
import { type ProxyTarget, upstreamHeaders, validPort, withoutHopByHop } from './target'

// The reference answers these two in plain text; every execd error is the contract's JSON
// (CONTRACT §1), and the messages keep the reference's words for people reading them.
export const badGateway = (): Response =>
  errorResponse(new ExecdError('BAD_GATEWAY', 'Bad Gateway: nothing answered on that port'))

export const portRequired = (): Response => errorResponse(new ExecdError('INVALID_REQUEST_BODY', 'port is required'))
export const invalidPort = (port: string): Response =>
  errorResponse(
    new ExecdError('INVALID_REQUEST_BODY', `invalid port ${JSON.stringify(port)}: a whole number from 1 to 65535`),
  )

/** What came back from the upstream, before it is relayed. */
export interface UpstreamAnswer {
  status: number
  statusText: string
  headers: Headers
  body: AsyncIterable<Uint8Array> | ReadableStream<Uint8Array> | null
}

/**
 * Forwards `request` to 127.0.0.1:<port>; status, headers and body come back unchanged.
 * `done` is called once the upstream's answer has been relayed whole, or failed.
 */
export async function forward(
  request: Request,
  target: ProxyTarget,
  peerIp: string | undefined,
  done: () => void = () => {},
  /** ms the upstream may take to send its response head (0: no limit). */
  headMs = 0,
): Promise<Response> {
  try {
    return await forwardOnce(request, target, peerIp, done, headMs)
  } catch (err) {
    done()
    throw err
  }
}

async function forwardOnce(
  request: Request,
  target: ProxyTarget,
  peerIp: string | undefined,
  done: () => void,
  headMs: number,
): Promise<Response> {
  if (!validPort(target.port)) return (done(), badGateway())
  const hasBody = request.body !== null && request.method !== 'GET' && request.method !== 'HEAD'
  const headers = upstreamHeaders(request.headers, peerIp)
  const body = hasBody ? request.body : null
  const head = headDeadline(request.signal, headMs)
  let answer: UpstreamAnswer
  try {
    // Bun's fetch sends a path starting with `//` as `/` (`/proxy/P//a` would reach `/a`);
    // node:http sends it verbatim, but streams several times slower, so only for those.
    answer = target.pathAndQuery.startsWith('//')
      ? await requestVerbatim(request.method, target, headers, body, head.signal)
      : await viaFetch(request.method, target, headers, body, head.signal)
  } catch (err) {
    // No fd for the upstream's socket is execd's limit, not a port where nothing answers.
    done()
    if (head.expired()) return headTimeout(headMs)
    if (err instanceof ExecdError) return errorResponse(err)
    const full = limitReached(err)
    return full ? errorResponse(full) : badGateway()
  } finally {
    head.arrived()
  }
  return relay(answer, done)
}

const headTimeout = (ms: number): Response =>
  errorResponse(
    new ExecdError(
      'BAD_GATEWAY',
      `Bad Gateway: the upstream did not send its response head within ${ms} ms (--proxy-response-timeout)`,
    ),
  )

/**
 * The upstream request's signal: the caller's, and past `ms` without a response head its own
 * abort. An upstream that accepted and never answered held the caller, and a proxied-request
 * slot, for as long as the caller waited (Bun's client has no timeout of its own). Once the
 * head has come the body is the caller's to wait for: only the caller's leaving aborts it then.
 */
function headDeadline(caller: AbortSignal, ms: number) {
  if (ms <= 0) return { signal: caller, expired: () => false, arrived: () => {} }
  const own = new AbortController()
  let expired = false
  const follow = () => own.abort(caller.reason)
  if (caller.aborted) follow()
  else caller.addEventListener('abort', follow, { once: true })
  const timer = setLongTimeout(() => {
    expired = true
    own.abort(new Error('response head timeout'))
  }, ms)
  return { signal: own.signal, expired: () => expired, arrived: () => timer.clear() }
}

async function viaFetch(
  method: string,
  target: ProxyTarget,
  headers: Headers,
  body: ReadableStream<Uint8Array> | null,
  signal: AbortSignal,
): Promise<UpstreamAnswer> {
  const res = await fetch(`http://127.0.0.1:${target.port}${target.pathAndQuery}`, {
    method,
    headers,
    body,
    // @ts-expect-error Bun/undici: a streamed request body needs half duplex
    duplex: 'half',
    redirect: 'manual',
    // Bytes pass through as the upstream encoded them, Content-Encoding included.
    decompress: false,
    // The caller going away cancels the upstream request.
    signal,
  })
  return { status: res.status, statusText: res.statusText, headers: res.headers, body: res.body }
}

function relay(answer: UpstreamAnswer, done: () => void): Response {
  // An async iterable body, not the stream: it says when the body has been relayed whole (or
  // given up), and Bun's server adds `content-type: application/octet-stream` to a stream body
  // that has none where a proxy must not add what the upstream did not send. Iterating still
  // pulls one chunk at a time.
  if (!answer.body) done()
  const body = answer.body ? chunks(answer.body, done) : null
  return new Response(body as BodyInit | null, {
    status: answer.status,
    statusText: answer.statusText,
    headers: withoutHopByHop(answer.headers),
  })
}

async function* chunks(
  body: AsyncIterable<Uint8Array> | ReadableStream<Uint8Array>,
  done: () => void,
): AsyncGenerator<Uint8Array> {
  try {
    for await (const chunk of body as AsyncIterable<Uint8Array>) yield chunk
  } finally {
    done()
  }
}
