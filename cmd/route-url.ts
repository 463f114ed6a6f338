/**
 * A route beneath the daemon's address as typed, its path kept: a daemon behind a gateway at
 * `https://gw/sandbox/abc` is asked at `/sandbox/abc/files/info`. Every verb's `--url` (remote.ts)
 * and `ping`'s alike; kept apart so that a probe loads no more than it needs.
 */
import { UsageError } from './errors'
import { type WholeOption, YEAR_MS, wholeHelp } from './whole-option'

/** The daemon's address when `--url` is not given. */
export const URL_ENV = 'EXECD_URL'

/**
 * How long a request waits for the daemon to begin its answer (its status and headers), in ms.
 * A daemon that accepts and never answers (stuck, stopped by SIGSTOP, a proxy holding the
 * connection) held every verb until Ctrl-C. A stream, once begun, is never bounded: a cell or a
 * download may rightly go on for hours. The slowest answer to begin is a context's (java's and a
 * Jupyter kernel's take seconds to start, more under load), hence a whole minute.
 */
export const ANSWER_TIMEOUT_MS = 60_000

/** Every verb that takes --url takes this (remote.ts bounds the wait). */
export const ANSWER: WholeOption = {
  flag: 'answer-timeout',
  env: 'EXECD_ANSWER_TIMEOUT',
  unit: 'milliseconds',
  placeholder: '<ms>',
  min: 1,
  // As exec --timeout's: past 2³¹ ms a long timer holds it (remote.ts).
  max: YEAR_MS,
  zero: 'no limit',
}
export const ANSWER_OPTION = wholeHelp(
  ANSWER,
  'with --url: give up when the daemon has not begun to answer a request in this time',
  ANSWER_TIMEOUT_MS,
)

export function routeUrl(base: string, route: string): URL {
  const url = new URL(route.replace(/^\/+/, ''), base.endsWith('/') ? base : `${base}/`)
  url.pathname = url.pathname.replace(/\/\/+/g, '/')
  return url
}

/** A daemon's address as typed (`--url`, EXECD_URL), parsed; anything but http(s) is a usage error. */
export function daemonUrl(typed: string): URL {
  let parsed: URL | undefined
  try {
    parsed = new URL(typed)
  } catch {
    // said below
  }
  // A link-local address's zone (`[fe80::1%25eth0]`) is no part of a WHATWG URL: the address was
  // refused as if it were not http at all.
  if (!parsed && /^https?:\/\/\[[^\]]*%/i.test(typed))
    throw new UsageError(
      `--url cannot name an IPv6 zone (its %zone part); give the address without it, or a host name: '${typed}'`,
    )
  if (!parsed || !/^https?:$/.test(parsed.protocol))
    throw new UsageError(`--url expects an http:// or https:// URL, got '${typed}'`)
  return parsed
}
