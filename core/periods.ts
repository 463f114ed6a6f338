/**
 * Fixed periods of execd's own housekeeping that are no user's concern (no option sets them):
 * how often finished commands and exited terminals are swept, how often lingering owners get
 * their /proc pass, how long a language probe is trusted, a walk's time budget, how long a
 * kernel channel may take to open; and one bound that is no period, a walk's entries in one
 * answer. The spec must wait some of them out to see a behaviour (a sweep that is due, a probe
 * asked again), or walk past the bound (100,000 files made and walked twice: 46 s of CI).
 *
 * `EXECD_PERIODS=sweep:2000,settle:300` shortens them for one daemon, in ms (`entries`: a
 * count). Hidden, read once
 * at the start and withheld from children: an operator has no reason to set it, so it is not a
 * flag, and each value can only shorten its period (clamped to MIN_MS..the default): a typo
 * leaves the default, and no setting makes execd sweep, scan or give up more often than every
 * MIN_MS.
 */
import { withholdFromChildren } from './child-env'

export const PERIODS_ENV = 'EXECD_PERIODS'

/** The defaults, each the period execd has always had. */
export const DEFAULT_PERIODS = {
  /** Finished commands past their retention, exited terminals past theirs (plugins/command, plugins/pty). */
  sweep: 30_000,
  /** The /proc pass that lets an exited owner's lingering processes go (core/process.ts). */
  settle: 10_000,
  /** How long a language's probe (its interpreter asked whether it runs) is trusted (plugins/code). */
  probe: 10_000,
  /** A search's or listing's walk, the documented budget (plugins/files). */
  walk: 30_000,
  /** A Jupyter kernel's channel opening (plugins/jupyter). */
  channel: 30_000,
  /**
   * An answer whose client takes nothing for this long while it holds something is ended when
   * a request wants its slot (core/send-stall.ts): as long as Bun waits for a silent connection.
   */
  stall: 120_000,
  /**
   * An answer stalled this long is ended even when nobody wants what it holds (core/send-stall.ts):
   * a slow reader's kernel shows its reads in steps of a minute or two (stop 51), not ten.
   */
  stallCeiling: 600_000,
  /** Not a period: the entries of one search's or listing's answer, the documented cap (plugins/files). */
  entries: 100_000,
}

export type Periods = { readonly [K in keyof typeof DEFAULT_PERIODS]: number }

const MIN_MS = 50
/** Bounds the text read: a few names and numbers. */
const MAX_TEXT = 1000

/** `name:ms` pairs, comma-separated; anything else is left out and its default kept. */
export function periodsFrom(text: string | undefined): Periods {
  const out: Record<string, number> = { ...DEFAULT_PERIODS }
  for (const pair of (text ?? '').slice(0, MAX_TEXT).split(',')) {
    const [name = '', value = ''] = pair.split(':').map(s => s.trim())
    if (!Object.hasOwn(DEFAULT_PERIODS, name) || !/^\d{1,9}$/.test(value)) continue
    const most = DEFAULT_PERIODS[name as keyof Periods]
    out[name] = Math.min(Math.max(Number(value), MIN_MS), most)
  }
  return out as Periods
}

export const PERIODS: Periods = periodsFrom(process.env[PERIODS_ENV])
withholdFromChildren([PERIODS_ENV])
