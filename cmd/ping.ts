/**
 * `execd ping`: is the daemon here answering? Exit 0 when `/ping` answers 200, 1 otherwise —
 * a readiness or liveness probe that runs execd itself (Kubernetes `exec` probe), since an
 * `httpGet` probe cannot take the token header from a Secret. The token comes from the
 * environment (or a file), never from the command line, where other processes could read it.
 */
import { readTokenFile } from '../core/token-file'
import { PING_PORT, PING_PORT_DEFAULT, PING_TIMEOUT, PING_TIMEOUT_MS } from './verb-numbers'
import { wholeOf } from './whole-option'
import { daemonUrl, routeUrl, URL_ENV } from './route-url'
import { unreachableWhy } from './unreachable'
import { checkTokenSendable } from './token-header'
import { visible } from './visible'
import { gatewayFailure, isWebPage } from './web-page'

export interface PingFlags {
  url?: string
  port?: string | number
  timeout?: string | number
  quiet?: boolean
}

export async function pingCommand(flags: PingFlags): Promise<number> {
  const url = pingUrl(flags)
  const file = process.env.EXECD_ACCESS_TOKEN_FILE
  const token = process.env.EXECD_ACCESS_TOKEN || (file ? readTokenFile(file) : '')
  checkTokenSendable(token, process.env.EXECD_ACCESS_TOKEN ? 'EXECD_ACCESS_TOKEN' : (file ?? ''))
  // What was typed wrong is a usage error (exit 2), not a daemon that does not answer (1): a
  // --timeout of abc was 2 s without a word, a --url of nothttp 'fetch() URL is invalid'.
  const timeoutMs = wholeOf(PING_TIMEOUT, flags.timeout) ?? PING_TIMEOUT_MS
  const say = (line: string) => {
    if (!flags.quiet) process.stderr.write(`execd ping: ${visible(line)}\n`)
  }
  try {
    const res = await fetch(url, {
      headers: token ? { 'X-EXECD-ACCESS-TOKEN': token } : {},
      signal: AbortSignal.timeout(timeoutMs),
    })
    await res.arrayBuffer()
    // execd's answer is empty: a web page is another server's (an app that answers every path).
    const page = isWebPage(res)
    if (res.status === 200 && !page) return 0
    // Which token, as every verb says it: a wrong one was told to `set EXECD_ACCESS_TOKEN`.
    const refused = process.env.EXECD_ACCESS_TOKEN ? 'EXECD_ACCESS_TOKEN' : file
    const why = token ? ` (the token in ${refused} was refused)` : ' (EXECD_ACCESS_TOKEN is not set)'
    const gateway = page && gatewayFailure(res.status)
    say(
      `${url} answered ${res.status}${gateway ? ` with a web page, ${gateway}` : page ? ' with a web page: not execd' : res.status === 401 ? why : ''}`,
    )
  } catch (err) {
    const timedOut = (err as Error)?.name === 'TimeoutError'
    say(`${url}: ${timedOut ? `no answer within ${timeoutMs} ms` : unreachableWhy(err)}`)
  }
  return 1
}

/**
 * What is asked: `/ping` beneath the daemon's address, `--url` or `EXECD_URL` as every other
 * verb takes it (`--port` names the local one instead). `--url` was the probe's whole URL, so
 * `ping --url http://127.0.0.1:44772` asked the daemon's `/` (404, exit 1), any web server's
 * root (200) passed for a ready execd, and `EXECD_URL` was not read. A URL that already ends
 * in `/ping`, the form this help gave, is asked as it is.
 */
function pingUrl(flags: PingFlags): string {
  // Checked even beside --url: `--port 5x` was said as a bad --url, `--port ''` asked port 80.
  const port = flags.port === undefined ? undefined : wholeOf(PING_PORT, flags.port)
  const local = () => `http://127.0.0.1:${port ?? wholeOf(PING_PORT, undefined) ?? PING_PORT_DEFAULT}`
  const base = flags.url === undefined ? (port === undefined && process.env[URL_ENV]) || local() : String(flags.url)
  const parsed = daemonUrl(base)
  return (/\/ping\/?$/.test(parsed.pathname) ? parsed : routeUrl(base, 'ping')).toString()
}
