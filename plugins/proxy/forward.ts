/** The HTTP half of the proxy: one request to the upstream, both bodies streamed. */
import { type ProxyTarget, upstreamHeaders, validPort, withoutHopByHop } from './target'

export const badGateway = (): Response =>
  new Response('Bad Gateway\n', { status: 502, headers: { 'content-type': 'text/plain; charset=utf-8' } })

export const portRequired = (): Response =>
  new Response('port is required\n', { status: 400, headers: { 'content-type': 'text/plain; charset=utf-8' } })

/** Forwards `request` to 127.0.0.1:<port>; status, headers and body come back unchanged. */
export async function forward(request: Request, target: ProxyTarget, peerIp: string | undefined): Promise<Response> {
  if (!validPort(target.port)) return badGateway()
  const hasBody = request.body !== null && request.method !== 'GET' && request.method !== 'HEAD'
  let upstream: Response
  try {
    upstream = await fetch(`http://127.0.0.1:${target.port}${target.pathAndQuery}`, {
      method: request.method,
      headers: upstreamHeaders(request.headers, peerIp),
      body: hasBody ? request.body : undefined,
      // @ts-expect-error Bun/undici: a streamed request body needs half duplex
      duplex: 'half',
      redirect: 'manual',
      // Bytes pass through as the upstream encoded them, Content-Encoding included.
      decompress: false,
      // The caller going away cancels the upstream request.
      signal: request.signal,
    })
  } catch {
    return badGateway()
  }
  return new Response(upstream.body, {
    status: upstream.status,
    statusText: upstream.statusText,
    headers: withoutHopByHop(upstream.headers),
  })
}
