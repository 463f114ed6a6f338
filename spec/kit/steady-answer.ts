/**
 * What the direct-route tests compare of two answers to one request (the front door's own and
 * Elysia's): status, the headers that do not vary from run to run, and the body each file
 * makes constant its own way.
 */

/** The parts of a response that do not vary from run to run. */
export interface Answer {
  status: number
  headers: Record<string, string>
  body: string
}

/** Headers that differ between two runs of one request whichever way it came. */
const VARYING_HEADERS = new Set(['date', 'content-length', 'transfer-encoding'])

/** The response's headers but the varying ones; `constant` may make a header's value constant. */
export function steadyHeaders(res: Response, constant: (name: string, value: string) => string = (_, v) => v) {
  const headers: Record<string, string> = {}
  res.headers.forEach((v, k) => {
    if (!VARYING_HEADERS.has(k)) headers[k] = constant(k, v)
  })
  return headers
}
