/**
 * The answer of a files request whose session was removed while it was in it. A DELETE (like
 * idle expiry and shutdown) waits for no files request, and the session's sandbox root, which
 * the request reached its files through, goes with it: the operation then failed on what it
 * reached, a replace as the 500 `rename <path>: operation not permitted`, an upload as the 404
 * `file not found` for the path it was making (7 and 1 of 50 with the DELETE sent 0-14 ms
 * after them). Such an answer is the session's 404, saying why, as a request after the DELETE gets.
 */
import { ExecdError, errorResponse, toExecdError } from '../../../core/errors'
import type { Session } from './session'

export async function unlessRemoved(s: Session, present: () => boolean, answer: Promise<Response>): Promise<Response> {
  let res: Response
  try {
    res = await answer
  } catch (err) {
    if (present()) throw err
    throw removedUnder(s, toExecdError(err).message)
  }
  // A success stands: what it did was done before the session went.
  if (res.status < 400 || present()) return res
  return errorResponse(removedUnder(s, await messageOf(res)))
}

async function messageOf(res: Response): Promise<string> {
  const said = await res.text().catch(() => '')
  try {
    return String(JSON.parse(said).message ?? said)
  } catch {
    return said
  }
}

const removedUnder = (s: Session, cause: string) =>
  new ExecdError(
    'CONTEXT_NOT_FOUND',
    `isolated session ${s.id} was removed while this request was in it, and the request failed with it: ${cause}`,
  )
