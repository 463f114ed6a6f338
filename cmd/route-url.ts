/**
 * A route beneath the daemon's address as typed, its path kept: a daemon behind a gateway at
 * `https://gw/sandbox/abc` is asked at `/sandbox/abc/files/info`. Every verb's `--url` (remote.ts)
 * and `ping`'s alike; kept apart so that a probe loads no more than it needs.
 */
import { UsageError } from './errors'

/** The daemon's address when `--url` is not given. */
export const URL_ENV = 'EXECD_URL'

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
  if (!parsed || !/^https?:$/.test(parsed.protocol))
    throw new UsageError(`--url expects an http:// or https:// URL, got '${typed}'`)
  return parsed
}
