/**
 * Who holds `--max-requests` (core/held-slots.ts). Its count is Bun's `pendingRequests`, which
 * names no request: a refusal there said only that the limit was reached, so a burst could not
 * be told from requests that never end. Each request is held here from the front door until its
 * answer's head is given (its route group and age); what Bun still counts beyond those has
 * answered and is sending its body, a stream or a download, and the app's streams and
 * downloads name those (core/streams.ts, core/downloads.ts).
 */
import type { Held, Slot } from './held-slots'
import { heldOf } from './held-slots'
import { type Linked, LinkedList } from './linked-list'

/** One request whose answer is being made; named by its route group only when reported. */
interface Answering extends Linked<Answering> {
  method: string
  path: string
  at: number
}

/** What Bun counts beyond the requests being answered: their answers are on their way. */
export const SENDING = 'answered, still sending (streams, downloads)'

export class RequestsInFlight {
  /**
   * Oldest first, a list linked through its entries; each leaves when its answer's head is
   * given. Not a Set: one filled by a burst and emptied as it is answered was rehashed as it
   * grew and shrank, ~0.5-2 µs a request on a loaded door (bench/slot-cost.ts).
   */
  private readonly list = new LinkedList<Answering>()

  /** `kindOf`: the route group a request's path lies under (`POST /files`), for reports only. */
  constructor(
    private readonly max: number,
    private readonly kindOf: (method: string, path: string) => string,
  ) {}

  /** Holds `answer`'s request until it settles; what is returned is `answer` itself. */
  track<T>(method: string, path: string, answer: Promise<T>): Promise<T> {
    const held: Answering = { method, path, at: performance.now(), prev: undefined, next: undefined }
    this.list.push(held)
    const release = () => this.list.remove(held)
    answer.then(release, release)
    return answer
  }

  /** Who held the limit when `pending` requests (the refused one among them) were in flight. */
  held(pending: number): Held {
    const slots: Slot[] = []
    for (let a = this.list.first; a && slots.length < this.list.size; a = a.next)
      slots.push({ kind: this.kindOf(a.method, a.path), at: a.at })
    const report = heldOf('requests in flight', this.max, slots)
    // Bun's count includes the request refused; those it counts beyond ours are sending.
    const others = Math.max(0, pending - 1)
    const sending = others - report.held
    if (sending > 0) report.byKind[SENDING] = sending
    report.held = Math.max(others, report.held)
    return report
  }
}
