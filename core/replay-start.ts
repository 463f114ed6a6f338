/**
 * Where a replay of an execution's events starts (`GET /command/{id}/events`,
 * `GET /code/executions/{id}/events`): after the `Last-Event-ID` the client holds, else after
 * `?after=`. An id the execution never sent is refused with a 400 naming the last one it did:
 * replaying from it gave a 200 stream that ended without a terminal event (a finished
 * execution) or silently waited for, then skipped, events the client never saw (a running one).
 */
import { badRequest, clip } from './errors'

export interface ReplayStart {
  /** The last event id the client has; 0 replays from the start. */
  after: number
  /** The id as the client sent it (`Last-Event-ID 7`, `after=7`), for a refusal. */
  named: string
}

/** No id: every event, from the first. */
export const FROM_THE_START: ReplayStart = Object.freeze({ after: 0, named: '' })

/** Room for a quoted value in a message: a header may be 8 KB of anything. */
const QUOTED = 40

const quote = (raw: string): string => clip(raw, QUOTED)

/**
 * The start a request names. None, or a blank one, is the start (an EventSource that has seen no
 * id sends none). Anything but a whole number — `1.5`, `-3`, `0x10`, `1e3` — is a 400: it was
 * replayed from the start, so a client with a bug saw every event again without a word.
 */
export function replayStart(header: string | null | undefined, query: string | undefined): ReplayStart {
  const fromHeader = !!header?.trim()
  const raw = (fromHeader ? header! : (query ?? '')).trim()
  const name = fromHeader ? 'Last-Event-ID' : 'after'
  if (raw === '') return FROM_THE_START
  if (!/^\d+$/.test(raw)) {
    throw badRequest(
      `invalid ${name} '${quote(raw)}': an event id is a whole number (the id: of the last event received; none replays from the start)`,
    )
  }
  // Past 2^53 no event has it: kept as a number larger than any, refused as the rest are.
  return { after: Number(raw), named: fromHeader ? `Last-Event-ID ${quote(raw)}` : `after=${quote(raw)}` }
}

/** `start.after`, once it is an id the execution sent: at most `lastId`, the last it journaled. */
export function replayFrom(start: ReplayStart, lastId: number, what: string): number {
  if (start.after <= lastId) return start.after
  throw badRequest(
    `${start.named} was never sent: the last is ${lastId} of this ${what} ` +
      '(send the id of the last event received, or none to replay from the start)',
  )
}
