/**
 * A request to the upstream through node:http, which sends the path exactly as given (Bun's
 * fetch turns a leading `//` into `/`). Answers once the response head has arrived.
 */
import type { IncomingMessage } from 'node:http'
import { ExecdError } from '../../core/errors'
import type { ReadableStream as NodeWebStream } from 'node:stream/web'
import type { UpstreamAnswer } from './forward'
import type { ProxyTarget } from './target'

/** 1xx heads before the final one: servers send one or two (100 Continue, 103 Early Hints). */
const MAX_INFORMATIONAL = 16

/** Statuses whose responses never carry a body (a Response refuses one). */
const NO_BODY = new Set([101, 103, 204, 205, 304])

export function requestVerbatim(
  method: string,
  target: ProxyTarget,
  headers: Headers,
  body: ReadableStream<Uint8Array> | null,
  signal: AbortSignal,
): Promise<UpstreamAnswer> {
  // node:http and node:stream load with the first proxied request, not at every start.
  const { request: httpRequest } = require('node:http') as typeof import('node:http')
  const { Readable, pipeline } = require('node:stream') as typeof import('node:stream')
  const { promise, resolve, reject } = Promise.withResolvers<UpstreamAnswer>()
  const upstream = httpRequest({
    host: '127.0.0.1',
    port: Number(target.port),
    method,
    path: target.pathAndQuery,
    headers: Object.fromEntries(headers as unknown as Iterable<[string, string]>),
    signal,
  })
  upstream.on('response', res => {
    // A node stream that fails with no 'error' listener ends the process: the relayed body's
    // failure (the client or the upstream went away) reaches its reader through iteration.
    res.on('error', () => {})
    resolve(answerOf(method, res))
  })
  /** Ends the request before a head with a 502 whose `words` say why. */
  const refuse = (words: string) => reject(new ExecdError('BAD_GATEWAY', `Bad Gateway: ${words}`))
  // Before the head: nothing answered (502). After it, the body stream fails on its own.
  upstream.on('error', reject)
  // A 101 to a request that asked for no upgrade (execd strips Upgrade): node:http hands the
  // socket to an 'upgrade' listener or, with none, closes it, and then neither 'response' nor
  // 'error' comes, nor does an abort end it. The caller waited unanswered, past
  // --proxy-response-timeout, holding a --max-proxy-requests slot until it left.
  upstream.on('upgrade', (_res, socket) => {
    socket.destroy()
    refuse('the upstream switched protocols (101) unasked')
  })
  // Each 1xx head is parsed and handed to JavaScript: an upstream sending them without end kept
  // execd's one thread busy (/ping 1-3 s, 190 MB) for as long as --proxy-response-timeout gave it.
  let informational = 0
  upstream.on('information', () => {
    if (++informational <= MAX_INFORMATIONAL) return
    upstream.destroy()
    refuse(`the upstream sent over ${MAX_INFORMATIONAL} informational (1xx) heads`)
  })
  // Any other close before a head, once settled a reject that does nothing: forward.ts's own
  // 502 (nothing answered), as for a connection refused.
  upstream.on('close', () => reject(new Error('the upstream closed before a response head')))
  // pipeline, not pipe: a client that leaves mid-body errors the source, and that must end
  // this request (destroying the upstream one), never reach the process as an unhandled error.
  if (body) pipeline(Readable.fromWeb(body as unknown as NodeWebStream), upstream, () => {})
  else upstream.end()
  return promise
}

function answerOf(method: string, res: IncomingMessage): UpstreamAnswer {
  const headers = new Headers()
  // Raw pairs keep repeated headers (several Set-Cookie) as the upstream sent them.
  const raw = res.rawHeaders
  for (let i = 0; i + 1 < raw.length; i += 2) headers.append(raw[i] ?? '', raw[i + 1] ?? '')
  const status = res.statusCode ?? 502
  const empty = method === 'HEAD' || NO_BODY.has(status)
  if (empty) res.resume()
  return { status, statusText: res.statusMessage ?? '', headers, body: empty ? null : res }
}
