/** Client side of the commands section (CONTRACT §4), shared by rows 3, 4 and 6. */
import { type Execd, requireRoute } from './execd'
import { commandEnded, readEvents } from './sse'

/** The commands section answers a status query for an unknown id with a JSON 404, not "route not found". */
export const requireCommands = (d: Execd) => requireRoute(d, 'GET', '/command/status/bench-probe')

/** One `POST /command` round trip in ms, to the terminal event; throws unless it is execution_complete. */
export async function commandRoundTrip(d: Execd, command = 'true'): Promise<number> {
  const t0 = performance.now()
  const res = await d.post('/command', { command })
  if (res.status !== 200) throw new Error(`POST /command: ${res.status} ${await res.text()}`)
  const { events, at } = await readEvents(res, commandEnded)
  const last = events.at(-1)
  if (last?.type !== 'execution_complete') throw new Error(`POST /command ended with ${JSON.stringify(last)}`)
  return at - t0
}
