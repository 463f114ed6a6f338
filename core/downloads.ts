/**
 * The file bodies of one app still being sent (core/file-body.ts: downloads, a command's log),
 * named by route group and age (core/held-slots.ts) on SIGUSR2 and in a --max-requests refusal.
 * That refusal counted them only, within `answered, still sending` (core/requests-in-flight.ts):
 * clients that ask for files and never read them could not be told from a burst of streams.
 * No cap: a body is bounded by the budgets of core/file-body.ts, its request by --max-requests.
 * A body is named from the moment it is handed to Bun until its answer is sent or its client
 * gone (core/answering.ts, looked at every 100 ms); one whose end cannot be watched (answered
 * in process) is not named, as it holds nothing.
 */
import { receivedOf, whenAnswered, type Answer } from './answering'
import { pathOf } from './front-door'
import { heldOf, type Held, type Slot } from './held-slots'

export class Downloads {
  private readonly sending = new Set<Slot>()

  /** `kindOf`: the route group a path lies under (`GET /files`), for reports only. */
  constructor(private readonly kindOf: (method: string, path: string) => string) {}

  /** Names `answer` until it is sent or abandoned. */
  add(answer: Answer): void {
    // The request its client sent (a forwarded one's: the isolated files view).
    const request = receivedOf(answer.request)
    const entry: Slot = { kind: this.kindOf(request.method, pathOf(request.url)), at: performance.now() }
    if (whenAnswered(answer, () => this.sending.delete(entry))) this.sending.add(entry)
  }

  /** Who is still being sent a body, by route group and age. */
  held(): Held {
    return heldOf('downloads still sending', 0, this.sending)
  }
}
