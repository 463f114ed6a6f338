/**
 * Who holds the slots of every capped resource (core/limits.ts Capacity and QueuedWork), for the
 * two moments an operator or the fuzz asks: a refusal at a limit (its log line says who held the
 * pool: a leak or a burst?) and SIGUSR2 (cmd/serve-signals.ts: one log line with every pool). A
 * slot is named by its kind (a stream's route, a context's language) and its age, never by what a
 * client sent: no token, no code, no path.
 *
 * No list of pools lives here: each section's instance owns its pools and says who holds them
 * (core/plugin.ts OpenSection.held), and the app asks the sections it opened (core/app.ts). A
 * list by name, kept for the whole process, had a section opened twice (a test, a CLI verb
 * beside a server) replace the other's pools, and two apps in one process report one's.
 */

export interface HeldSlot {
  kind: string
  /** How long it has been held, on the monotonic clock. */
  ms: number
  /** What this one holder holds of the pool, when more than one slot (an upload's directories). */
  units?: number
}

export interface Held {
  /** The pool, as its 503 names it: 'concurrent streams', 'python contexts', 'runs'. */
  what: string
  /** Its bound (per holder for queued work); 0: none. */
  max: number
  /** Slots held (units, for a pool whose holders hold several). */
  held: number
  /**
   * The things that own the slots (sessions, contexts, terminals) that exist now, for pools
   * whose slots live as long as a thing does: more held than live is a slot nobody can give back.
   */
  live?: number
  byKind: Record<string, number>
  /** The oldest few, oldest first: with a time, a client's log names what took them. */
  oldest: HeldSlot[]
}

/** Slots a report lists one by one; the rest are in byKind. */
const OLDEST_SHOWN = 5
/** Kinds a report counts apart; past them, 'other'. Kinds are routes and languages: few. */
const MAX_KINDS = 32

/** One taken slot; the pool keeps them in a Set, oldest first. */
export interface Slot {
  kind: string
  at: number
  /** Slots this holder holds (default 1): an upload holds a directory per new one it writes into. */
  units?: number
}

/** What a pool of `slots` holds now. */
export function heldOf(what: string, max: number, slots: Iterable<Slot>, live?: number): Held {
  const now = performance.now()
  const byKind: Record<string, number> = {}
  let kinds = 0
  let held = 0
  const oldest: HeldSlot[] = []
  for (const slot of slots) {
    const units = slot.units ?? 1
    held += units
    let kind = slot.kind
    if (!(kind in byKind) && kinds++ >= MAX_KINDS) kind = 'other'
    byKind[kind] = (byKind[kind] ?? 0) + units
    if (oldest.length < OLDEST_SHOWN) {
      const ms = Math.round(now - slot.at)
      oldest.push(slot.units === undefined ? { kind: slot.kind, ms } : { kind: slot.kind, ms, units })
    }
  }
  return live === undefined ? { what, max, held, byKind, oldest } : { what, max, held, live, byKind, oldest }
}
