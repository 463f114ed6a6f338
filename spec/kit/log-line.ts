/**
 * A line of a daemon's JSON log, waited for. execd's stderr reaches the test on a pipe of its
 * own, read in no order with the socket of the answer that came with the line: looked for at
 * the instant a 503 came, the refusal's line was once not read yet (spec/held-refusals, at
 * load 21).
 */
import { type Daemon, waitFor } from '../harness'

/** The first whole line of `d`'s log that holds each of `words`, parsed; throws after `limitMs`. */
export async function logLine(d: Daemon, words: string[], limitMs = 15_000): Promise<any> {
  return (await logLines(d, words, 1, limitMs))[0]
}

/**
 * The whole lines of `d`'s log that hold each of `words`, parsed, once there are at least
 * `count` (all of them then: a test may expect no more); throws after `limitMs`.
 */
export async function logLines(d: Daemon, words: string[], count: number, limitMs = 15_000): Promise<any[]> {
  let found: string[] = []
  const find = () => {
    // The last piece is a line still being written (or the empty rest after the last newline).
    found = d
      .logs()
      .split('\n')
      .slice(0, -1)
      .filter(l => words.every(w => l.includes(w)))
    return found.length >= count
  }
  await waitFor(`${count} log lines with ${words.join(' and ')}`, find, limitMs)
  return found.map(l => JSON.parse(l))
}
