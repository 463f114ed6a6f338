/**
 * The answers of one app still being sent that hold something meanwhile. File bodies
 * (core/file-body.ts: downloads, a command's log) are named by route group and age
 * (core/held-slots.ts) on SIGUSR2 and in a --max-requests refusal. That refusal counted them
 * only, within `answered, still sending` (core/requests-in-flight.ts): clients that ask for files
 * and never read them could not be told from a burst of streams. No cap: a body is bounded by
 * the budgets of core/file-body.ts, its request by --max-requests. A body is named from the
 * moment it is handed to Bun until its answer is sent or its client gone (core/answering.ts,
 * looked at every 100 ms); one whose end cannot be watched (answered in process) is not named,
 * as it holds nothing.
 *
 * Every such answer, a file body or one a route guards (a walk's, in its --max-walks slot), is
 * under the one stall rule (core/send-stall.ts): a client that takes nothing for STALL_MS while
 * a request wants what it holds (its pool's, or --max-requests refused) has its connection
 * reset, and one line says so.
 */
import { receivedOf, whenAnswered, type Answer } from './answering'
import { pathOf } from './front-door'
import { heldOf, type Held, type Slot } from './held-slots'
import type { Logger } from './log'
import { Refusals, type Wanted } from './slot-wants'

/** Loaded by the first answer guarded: it loads node:fs, which a serve start must not before it listens. */
let stallRule: typeof import('./send-stall') | undefined

export class Downloads {
  private readonly sending = new Set<Slot>()
  /** Requests the front door refused at --max-requests: every guarded answer holds one (core/front-door.ts). */
  readonly requests = new Refusals()

  /**
   * `kindOf`: the route group a path lies under (`GET /files`), for reports only. `serverOf`: the
   * server the app's answers go out on, once it listens (none: answered in process); asked, not
   * handed over later, as the server starts after the sections that hold this are open.
   */
  constructor(
    private readonly kindOf: (method: string, path: string) => string,
    private readonly log?: Logger,
    private readonly serverOf: () => Answer['server'] = () => undefined,
  ) {}

  /** Names `answer` until it is sent or abandoned, and guards it meanwhile. */
  add(answer: Answer): void {
    // The request its client sent (a forwarded one's: the isolated files view).
    const request = receivedOf(answer.request)
    const entry: Slot = { kind: this.kindOf(request.method, pathOf(request.url)), at: performance.now() }
    let stop: (() => void) | undefined
    const sent = () => {
      this.sending.delete(entry)
      stop?.()
    }
    if (!whenAnswered(answer, sent)) return
    this.sending.add(entry)
    stop = this.guard(answer, entry.kind)
  }

  /**
   * Guards `answer` by the stall rule until the returned end is called (`holding`: what the
   * answer holds, for the log line; `pool`: the requests that want it); answered in process,
   * nothing is guarded.
   */
  guard(answer: Answer, kind: string, holding = 'its body', pool?: Wanted): () => void {
    if (!answer.server) return () => {}
    stallRule ??= require('./send-stall') as typeof import('./send-stall')
    const wants = pool ? [pool, this.requests] : [this.requests]
    return stallRule.guardSending(answer, wants, ({ taken, ms, wanted }) => {
      const rule = wanted ? stallRule!.STALL_MS : stallRule!.CEILING_MS
      this.log?.warn(`answer stalled: its client took nothing for ${rule / 1000} s; connection reset`, {
        route: kind,
        stall_ms: rule,
        stalled_ms: Math.round(ms),
        // A request wanted what it held, or nobody did and it passed the ceiling.
        ended_for: wanted ? 'a request wanting its slot' : 'the ceiling',
        taken_bytes: taken,
        holding,
      })
    })
  }

  /** guard, for an answer to `request` on the app's own server (a stream's: core/streams.ts). */
  guardRequest(request: Request, kind: string, holding: string, pool?: Wanted): () => void {
    return this.guard({ request, server: this.serverOf() }, kind, holding, pool)
  }

  /** Who is still being sent a body, by route group and age. */
  held(): Held {
    return heldOf('downloads still sending', 0, this.sending)
  }
}
