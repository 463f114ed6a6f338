/**
 * Bun builds `request.url` from the Host header and the request target. A Host it cannot use
 * at all (empty, `a b`) leaves the target alone, and the front door routes that by its path.
 * A Host it takes but the URL parser refuses (`x:99999`, `[::1`, `1.2.3.4.5`, `x:80:80`) made a
 * URL nothing could parse: the files routes, the proxy and the isolated files routes answered a
 * 500 RUNTIME_ERROR "Invalid URL" and logged an error for each, and the target's dot segments
 * were left unresolved where core/raw-target.ts looks at them. Such a request is routed by its
 * target too, as the Host-less one is.
 */

/** The scheme and authority of the last URL the parser took: the Host of every request repeats. */
let lastTaken = ''

/**
 * `url`'s target (path and query) when it is an absolute URL whose scheme and authority the URL
 * parser refuses; undefined for a URL it takes and for a target alone.
 */
export function refusedHostTarget(url: string): string | undefined {
  if (url.charCodeAt(lastTaken.length) === 47 && url.startsWith(lastTaken) && lastTaken !== '') return undefined
  if (!url.startsWith('http://') && !url.startsWith('https://')) return undefined
  const start = url.indexOf('/', url.indexOf('//') + 2)
  const origin = start < 0 ? url : url.slice(0, start)
  // Only the authority decides: the parser takes any path and query (it escapes what it must).
  if (URL.canParse(`${origin}/`)) {
    lastTaken = origin
    return undefined
  }
  return start < 0 ? '/' : url.slice(start)
}

/**
 * The targets core/raw-target.ts found for requests whose Host the parser refused, handed on to
 * the front door so that each request's Host is judged once. Every request the server receives
 * passes raw-target's routes or fallback first (cmd/serve.ts), synchronously; one with nothing
 * handed on had a Host the parser took. A Request made in process cannot have another: its
 * constructor parses its URL (app.handle, the front door's tests).
 */
const handed = new WeakMap<Request, string>()

/** `request` is routed by `target`: the parser refused its Host (see refusedHostTarget). */
export const handOnTarget = (request: Request, target: string): void => void handed.set(request, target)

/** The target raw-target handed on for `request`; undefined when its Host was taken. */
export const handedTarget = (request: Request): string | undefined => handed.get(request)
