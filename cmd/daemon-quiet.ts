/**
 * What a verb says of a daemon gone quiet under a run: its stream silent, or a stop not answered.
 *
 * A run's stream from a daemon that has gone quiet. The daemon pings every 3 s when it has
 * nothing else to send (CONTRACT section 2), so a stream with no event at all for much longer
 * is a daemon stopped (SIGSTOP, a frozen VM), a network gone, or a proxy holding the bytes:
 * `exec --url` of a cell or a command sat silent for as long as that lasted, its last line on
 * the screen as if the program were still thinking. Said once per silence, on stderr; the run
 * goes on, and the next event arms the watch again.
 */
import { ownLine } from './paced-output'
import { DAY_MS, type WholeOption, wholeHelp } from './whole-option'

/** Three pings missed, and then some: a loaded daemon's late ping is not a silence. */
export const RUN_SILENCE_MS = 10_000

/**
 * How long a daemon's silence goes unsaid is the person's to set (`--silence-notice`): 10 s was
 * fixed, so a script that wanted to know sooner (or never) could not, and a test of the line
 * waited 10 s for it. Below the daemon's 3 s ping, a healthy daemon's quiet is said too.
 */
export const SILENCE: WholeOption = {
  flag: 'silence-notice',
  env: 'EXECD_SILENCE_NOTICE',
  unit: 'milliseconds',
  placeholder: '<ms>',
  min: 1000,
  // A day: beyond it the notice means never, which is 0.
  max: DAY_MS,
  zero: 'never',
}
export const SILENCE_OPTION = wholeHelp(
  SILENCE,
  'with --url: say on stderr when the daemon has sent nothing for this long',
  `${RUN_SILENCE_MS}, metrics --watch 3000`,
)

/** A silence's length as said: `10 s`, `1.5 s`. */
export const seconds = (ms: number) => `${ms / 1000} s`

export const runSilence = (base: string, doing: string, ms = RUN_SILENCE_MS) =>
  `no word from ${base} for ${seconds(ms)} ${doing} (it pings every 3 s: a daemon stopped, or the network down?); still waiting`

/**
 * `source`'s items as they come, `say` called once each time none has come for `silenceMs`.
 * Only the wait for the next item is timed: a consumer slow to ask (a full stdout) is no silence.
 * One timer at a time, moved on when it finds the wait younger than `silenceMs`: a stream's
 * events come by the thousand a second, and a timer made and cleared for each cost as much again.
 */
export async function* saidWhenSilent<T>(
  source: AsyncIterable<T>,
  silenceMs: number,
  say: () => void,
): AsyncGenerator<T> {
  if (silenceMs <= 0) return yield* source
  const it = source[Symbol.asyncIterator]()
  /** When the wait for the next item began; undefined while the consumer holds one. */
  let since: number | undefined
  let said = false
  let timer: ReturnType<typeof setTimeout> | undefined
  const look = (): void => {
    timer = undefined
    if (since === undefined || said) return
    const left = since + silenceMs - performance.now()
    if (left > 0) timer = setTimeout(look, left)
    else {
      said = true
      say()
    }
  }
  try {
    for (;;) {
      since = performance.now()
      said = false
      timer ??= setTimeout(look, silenceMs)
      let next: IteratorResult<T>
      try {
        next = await it.next()
      } finally {
        since = undefined
      }
      if (next.done) return
      yield next.value
    }
  } finally {
    clearTimeout(timer)
    // The consumer left early (a closed stdout, a stop): the stream under it is let go too.
    await it.return?.()
  }
}

/** How long a stop (Ctrl-C, SIGTERM) waits for the daemon's answer before saying so. */
export const STOP_SAID_MS = 1000

/**
 * `line` said on stderr if `asked` (a stop sent to the daemon) has not settled within
 * STOP_SAID_MS; the function returned takes it back (the verb ends first).
 */
export function saidUnlessAnswered(asked: Promise<unknown>, line: string): () => void {
  const timer = setTimeout(() => ownLine(`execd: ${line}`), STOP_SAID_MS)
  const unsay = () => clearTimeout(timer)
  void asked.then(unsay, unsay)
  return unsay
}

/**
 * What a one-shot run on a daemon says of a stop the daemon has not answered: the verb leaves at
 * the stop's deadline (lifecycle.ts: its 2 s grace and 1 s margin, said at STOP_SAID_MS) anyway.
 */
export const leaving = (base: string, what: 'cell' | 'command') =>
  `${base} has not stopped the ${what} yet (a daemon stopped, or stuck?); leaving within 2 s, the ${what} left to it; Ctrl-C again leaves now`
