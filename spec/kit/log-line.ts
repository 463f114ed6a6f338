/**
 * A line of a daemon's JSON log, waited for. execd's stderr reaches the test on a pipe of its
 * own, read in no order with the socket of the answer that came with the line: looked for at
 * the instant a 503 came, the refusal's line was once not read yet (spec/held-refusals, at
 * load 21).
 */
import { type Daemon, waitFor } from '../harness'

/** The first whole line of `d`'s log that holds each of `words`, parsed; throws after `limitMs`. */
export async function logLine(d: Daemon, words: string[], limitMs = 15_000): Promise<any> {
  let found: string | undefined
  const find = () => {
    // The last piece is a line still being written (or the empty rest after the last newline).
    found = d
      .logs()
      .split('\n')
      .slice(0, -1)
      .find(l => words.every(w => l.includes(w)))
    return found !== undefined
  }
  await waitFor(`a log line with ${words.join(' and ')}`, find, limitMs)
  return JSON.parse(found!)
}
