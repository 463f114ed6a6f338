/**
 * Who holds the slots of every capped resource (core/limits.ts Capacity and QueuedWork), for the
 * two moments an operator or the fuzz asks: a refusal at a limit (its log line says who held the
 * pool: a leak or a burst?) and SIGUSR2 (cmd/serve-signals.ts: one log line with every pool). A
 * slot is named by its kind (a stream's route, a context's language) and its age, never by what a
 * client sent: no token, no code, no path.
 */

export interface HeldSlot {
  kind: string
  /** How long it has been held, on the monotonic clock. */
  ms: number
}

export interface Held {
  /** The pool, as its 503 names it: 'concurrent streams', 'python contexts', 'runs'. */
  what: string
  /** Its bound (per holder for queued work); 0: none. */
  max: number
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
}

/** What a pool of `slots` holds now. */
export function heldOf(what: string, max: number, slots: ReadonlySet<Slot>, live?: number): Held {
  const now = performance.now()
  const byKind: Record<string, number> = {}
  let kinds = 0
  const oldest: HeldSlot[] = []
  for (const slot of slots) {
    let kind = slot.kind
    if (!(kind in byKind) && kinds++ >= MAX_KINDS) kind = 'other'
    byKind[kind] = (byKind[kind] ?? 0) + 1
    if (oldest.length < OLDEST_SHOWN) oldest.push({ kind: slot.kind, ms: Math.round(now - slot.at) })
  }
  return live === undefined
    ? { what, max, held: slots.size, byKind, oldest }
    : { what, max, held: slots.size, live, byKind, oldest }
}

/**
 * Every pool of this process, by name: a section's pool replaces the one of the same name (a
 * section opened again, the streams' cap set once the options are read), so this holds one per
 * name, and the names are few (sections, languages).
 */
const pools = new Map<string, () => Held>()

export function registerPool(what: string, report: () => Held): void {
  pools.set(what, report)
}

/** Every pool's report, named: the SIGUSR2 log line. */
export function heldSlots(): Held[] {
  return [...pools.values()].map(report => report())
}
