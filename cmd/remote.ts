/**
 * Remote mode: `--url URL` (or EXECD_URL), with the token from EXECD_ACCESS_TOKEN, makes a verb
 * drive a running daemon over the wire contract instead of this machine. A `{code, message}`
 * error comes back as the same ExecdError the local operation throws, so output and exit
 * codes are those of local mode.
 */
import type { Static, TSchema } from '@sinclair/typebox'
import { ExecdError, type ErrorCode } from '../core/errors'
import type { ExecEvent } from '../core/events'
import { textUpTo } from '../core/text-up-to'
import { setLongTimeout, type LongTimer } from '../core/timers'
import { jsonItems, NotAnArray } from './json-items'
import { ANSWER, ANSWER_TIMEOUT_MS, daemonUrl, routeUrl, URL_ENV } from './route-url'
import { wholeOf } from './whole-option'
import { unreachableWhy } from './unreachable'
import { checkTokenSendable } from './token-header'
import { RUN_SILENCE_MS, SILENCE, runSilence, saidWhenSilent } from './daemon-quiet'
import { ownLine } from './paced-output'
import { answerOf, sseEvents } from './remote-answers'
import { isWebPage, notExecdAnswer } from './web-page'

export { URL_ENV }
const TOKEN_ENV = 'EXECD_ACCESS_TOKEN'
const TOKEN_HEADER = 'X-EXECD-ACCESS-TOKEN'

/** Named values, or pairs where their order matters (a files query's paths). */
type Query = Record<string, string | string[] | undefined> | readonly (readonly [string, string])[]

export class Remote {
  private readonly token: string | undefined
  constructor(
    readonly base: string,
    /** ANSWER_TIMEOUT_MS unless given; 0 waits as long as it takes. */
    private readonly answerMs = ANSWER_TIMEOUT_MS,
    /** How long a daemon's silence goes unsaid (--silence-notice); undefined: the verb's own default, 0: never. */
    readonly silenceMs?: number,
  ) {
    this.token = process.env[TOKEN_ENV] || undefined
    // A token in the environment is for this client only: never handed to a child.
    delete process.env[TOKEN_ENV]
    checkTokenSendable(this.token, TOKEN_ENV)
  }

  /**
   * The route beneath the URL as typed, its path kept: a daemon behind a gateway at
   * `https://gw/sandbox/abc` is asked at `/sandbox/abc/files/info`. A route with its leading `/`
   * replaced the path, so the gateway's own root was asked, and `--url http://daemon/typo` drove
   * the daemon as if the typo were not there.
   */
  url(path: string, query: Query = {}): string {
    const url = routeUrl(this.base, path)
    for (const [key, value] of Array.isArray(query) ? query : Object.entries(query)) {
      for (const v of [value ?? []].flat()) url.searchParams.append(key, v)
    }
    return url.toString()
  }

  /** The response, or the daemon's error as an ExecdError; a daemon out of reach is a plain error. */
  async call(
    method: string,
    path: string,
    opts: {
      query?: Query
      json?: unknown
      body?: BodyInit
      headers?: Record<string, string>
      signal?: AbortSignal
      /** What a streamed upload was doing when its connection went, if it had begun ('during the upload'). */
      doing?: () => string | undefined
    } = {},
  ): Promise<Response> {
    const headers: Record<string, string> = { ...opts.headers }
    if (this.token) headers[TOKEN_HEADER] = this.token
    let body = opts.body
    if (opts.json !== undefined) {
      headers['content-type'] = 'application/json'
      body = JSON.stringify(opts.json)
    }
    const streamed = body instanceof ReadableStream
    // An upload's answer begins once the daemon has all of it: its wait starts at the body's end.
    const wait = answerWait(this.answerMs, !streamed)
    if (streamed) body = sentWithin(body as ReadableStream<Uint8Array>, wait)
    let res: Response
    try {
      res = await fetch(this.url(path, opts.query), {
        method,
        headers,
        body,
        signal: opts.signal ? AbortSignal.any([opts.signal, wait.signal]) : wait.signal,
        // A streamed upload: the body is sent as it is read.
        ...(streamed ? { duplex: 'half' } : {}),
      } as RequestInit)
    } catch (err) {
      if (wait.signal.aborted && !opts.signal?.aborted)
        throw new Error(
          `${this.base} has not ${wait.unread() ? 'read more of' : 'answered'} ${method} ${path} within ${this.answerMs / 1000} s (a daemon that accepts and is stuck?); --answer-timeout <ms> waits longer (0: no limit)`,
        )
      if ((err as Error)?.name === 'AbortError') throw err
      // An upload the daemon took part of was said as a daemon never reached ("is it execd there?").
      const doing = opts.doing?.()
      const lost = doing ? lostConnection(err, this.base, doing) : err
      if (lost !== err) throw lost
      throw new Error(`cannot reach ${this.base}: ${unreachableWhy(err)}`)
    } finally {
      wait.stop()
    }
    // execd never answers with a web page: a 200 one is another server's (a gateway's app that
    // answers every path), whose page `fs get` saved as the file and `fs put` took for done.
    if (res.ok && !isWebPage(res)) return res
    throw await errorOf(res, this.token !== undefined)
  }

  /** The JSON answer, which must have the contract's shape (`schema`). */
  async json<S extends TSchema>(
    method: string,
    path: string,
    schema: S,
    opts: Parameters<Remote['call']>[2] = {},
  ): Promise<Static<S>> {
    const { text, cut } = await textUpTo(await this.call(method, path, opts), MAX_JSON_ANSWER_BYTES)
    if (cut) throw new Error(`the server's answer is larger than ${MAX_JSON_ANSWER_BYTES} bytes; gave up`)
    let value: unknown
    try {
      value = JSON.parse(text)
    } catch {
      throw new Error(`the server's answer to ${method} ${path} is not JSON: ${JSON.stringify(text.slice(0, 80))}`)
    }
    return answerOf(`${method} ${path}`, schema, value)
  }

  /**
   * A JSON array answer's elements as they arrive, a chunk's worth at a time, each of the
   * contract's shape (`item`): checked before it is handed on, so nothing of a batch holding a
   * wrong one is printed.
   */
  async *items<S extends TSchema>(
    method: string,
    path: string,
    item: S,
    opts: Parameters<Remote['call']>[2] = {},
  ): AsyncGenerator<Static<S>[]> {
    const res = await this.call(method, path, opts)
    const what = `${method} ${path}`
    let index = 0
    try {
      for await (const batch of jsonItems(res.body ?? new ReadableStream(), MAX_JSON_ITEM_CHARS)) {
        for (const value of batch) answerOf(what, item, value, `/${index++}`)
        yield batch as Static<S>[]
      }
    } catch (err) {
      if (err instanceof NotAnArray)
        throw new Error(`the server's answer to ${what} is not the contract's: ${err.message}`)
      throw err
    }
  }

  /**
   * A run's events (sseEvents), a connection lost midway said in a person's words, as a watch's
   * is (`doing`: 'while the cell ran'): it was Bun's, `http://host:port/code: error ECONNRESET`.
   * A daemon gone quiet (no event, not even its ping) is said too, and waited for.
   */
  async *events(res: Response, what: string, doing: string): AsyncGenerator<ExecEvent> {
    try {
      const ms = this.silenceMs ?? RUN_SILENCE_MS
      const say = () => ownLine(`execd: ${runSilence(this.base, doing, ms)}`)
      yield* saidWhenSilent(sseEvents(res, what), ms, say)
    } catch (err) {
      throw lostConnection(err, this.base, doing)
    }
  }

  /**
   * Interrupts what runs under `id` through `DELETE <route>?id=`: `/command` for a command or a
   * session's run (an isolated session's too), `/code` for a cell.
   */
  interrupt(route: '/command' | '/code', id: string): Promise<void> {
    return this.empty('DELETE', route, { query: { id } })
  }

  /**
   * A call whose answer is only its status: the body (empty) is read so the connection is
   * free; a body that is not empty is read no further than an error's would be.
   */
  async empty(method: string, path: string, opts: Parameters<Remote['call']>[2] = {}): Promise<void> {
    await textUpTo(await this.call(method, path, opts), MAX_ERROR_BODY_BYTES)
  }
}

/**
 * A JSON answer larger than this is refused: read whole, an answer that never ends (a broken
 * or hostile server) took all memory and kept the event loop from Ctrl-C for seconds.
 */
export const MAX_JSON_ANSWER_BYTES = 256 * 1024 * 1024

/** An element of a JSON array answer (a FileInfo: a path of at most 4 KiB, escaped) longer than this is refused. */
const MAX_JSON_ITEM_CHARS = 1024 * 1024

/** An error's body is only quoted (200 characters): the rest is not read. */
const MAX_ERROR_BODY_BYTES = 64 * 1024

async function errorOf(res: Response, tokenSent: boolean): Promise<ExecdError> {
  const text = await textUpTo(res, MAX_ERROR_BODY_BYTES).then(
    r => r.text,
    () => '',
  )
  let body: { code?: string; message?: string; error?: string } = {}
  try {
    const parsed = JSON.parse(text) as Record<string, unknown> | null
    // Only strings are read: a body `null` failed in the CLI's own code, a message object printed "[object Object]".
    for (const key of ['code', 'message', 'error'] as const)
      if (typeof parsed?.[key] === 'string') body[key] = parsed[key] as string
  } catch {
    // not the contract's JSON: a proxy's page, say
  }
  // The daemon's words name its header, not where this client takes the token from.
  if (res.status === 401) {
    const why = tokenSent ? `the token in ${TOKEN_ENV} was refused` : `${TOKEN_ENV} is not set`
    return new ExecdError('UNAUTHORIZED', `${body.error ?? 'unauthorized'} (${why})`)
  }
  const code = (body.code ?? (res.status < 500 && !res.ok ? 'INVALID_REQUEST_BODY' : 'RUNTIME_ERROR')) as ErrorCode
  return new ExecdError(code, body.message ?? body.error ?? notExecdAnswer(res.status, text))
}

/**
 * A signal that aborts `ms` after start() (at once when `now`), or `ms` after an upload's chunk
 * was handed over (handed()) and not taken (taken()), unless stop() came first; 0 never aborts.
 * Only the wait for an answer's start: stop() once it has begun.
 */
function answerWait(ms: number, now: boolean) {
  const aborter = new AbortController()
  let timer: LongTimer | undefined
  let stopped = false
  let unread = false
  const arm = (stalled: boolean) => {
    timer?.clear()
    // A long timer: setTimeout fired at once (1 ms, with a warning) for more than 2³¹ − 1 ms.
    if (ms > 0 && !stopped)
      timer = setLongTimeout(() => {
        unread = stalled
        aborter.abort()
      }, ms)
  }
  if (now) arm(false)
  return {
    signal: aborter.signal,
    start: () => arm(false),
    handed: () => arm(true),
    taken: () => timer?.clear(),
    /** The daemon stopped reading the upload, rather than not answering once it had it all. */
    unread: () => unread,
    stop: () => {
      stopped = true
      timer?.clear()
    },
  }
}

/**
 * An upload's body handed to fetch a chunk per pull, each to be taken within the answer's
 * bound: a daemon that accepts and never reads fills the socket's buffers, fetch stops pulling,
 * and the upload stalled before the answer's wait began. Only the sender's wait is counted, not
 * the source's (a slow pipe into `fs put -`). The answer's wait starts at the body's end.
 */
function sentWithin(source: ReadableStream<Uint8Array>, wait: ReturnType<typeof answerWait>) {
  const reader = source.getReader()
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        wait.taken()
        const { done, value } = await reader.read()
        if (done) {
          controller.close()
          wait.start()
          return
        }
        controller.enqueue(value)
        wait.handed()
      },
      cancel: reason => reader.cancel(reason),
    },
    { highWaterMark: 0 },
  )
}

/**
 * The remote daemon named by --url or EXECD_URL, if any, with --answer-timeout and
 * --silence-notice (or their variables).
 */
export function remoteOf(options: {
  url?: unknown
  answerTimeout?: unknown
  silenceNotice?: unknown
}): Remote | undefined {
  const url = options.url === undefined ? process.env[URL_ENV] : String(options.url)
  const answerMs = wholeOf(ANSWER, options.answerTimeout)
  const silenceMs = wholeOf(SILENCE, options.silenceNotice)
  if (!url) return undefined
  daemonUrl(url)
  return new Remote(url, answerMs ?? ANSWER_TIMEOUT_MS, silenceMs)
}

/** A stream's connection lost midway (the daemon killed, a proxy gone), in a person's words. */
export function lostConnection(err: unknown, base: string, doing: string): unknown {
  const code = (err as NodeJS.ErrnoException)?.code
  if (code !== 'ECONNRESET' && code !== 'ConnectionClosed') return err
  return new Error(`lost the connection to ${base} ${doing} (did the daemon stop?)`)
}

/**
 * What a verb says of a run the daemon ended as it shut down (its error event `ServerShutdown`,
 * `execd is shutting down`): a cell printed those words bare, as if the code had, and a command
 * `execd: execd is shutting down`. Said as a lost connection is (`doing`: 'while the cell ran').
 */
export const shutDown = (ename: string, doing: string): string | undefined =>
  ename === 'ServerShutdown' ? `the daemon shut down ${doing}` : undefined

/** What the verbs say of a run's stream that ended without its terminal event. */
export const STREAM_CUT = 'the stream ended before the run did'
