/**
 * A command's output read from its pipe into the run (run.ts): paced, gathered, and ended once
 * the leader is gone and the pipe goes quiet.
 */
import { freeChunk } from '../../core/chunks'
import { pieceEnd, TurnBudget } from '../../core/fair'
import { ReadGatherer } from '../../core/read-gather'

/** What a pump asks before it hands a chunk on, and tells after (core/fair.ts UnreadPacer). */
export interface Pace {
  /** Whether ready() may hold a chunk back: a chunk is then handed on in pieces, asked between. */
  paced(): boolean
  ready(): Promise<void> | undefined
  spend(ms: number): void
}

/** After the leader exits, output still arriving this soon belongs to it; then stop reading. */
const DRAIN_IDLE_MS = 50

/**
 * Reads a pipe chunk by chunk, handing each on before reading the next (backpressure). Once
 * the leader has exited, stops when the pipe goes quiet: a background job that inherited the
 * pipe must not keep the command "running" (the reference ends at exit too). No promise is
 * raced per chunk: a reaction piled on a long-lived promise would keep every chunk alive.
 * `pace` holds a chunk back while its share of the loop is used up, and is told its work. In a
 * flood, a read that came back small waits a moment before the next (core/read-gather.ts).
 */
export async function pump(
  stream: ReadableStream<Uint8Array>,
  exited: Promise<unknown>,
  onChunk: (chunk: Uint8Array) => Promise<void> | undefined,
  pace: Pace,
): Promise<void> {
  const reader = stream.getReader()
  let leaderGone = false
  let idle: ReturnType<typeof setTimeout> | undefined
  const armIdle = () => {
    clearTimeout(idle)
    idle = setTimeout(() => void reader.cancel().catch(() => {}), DRAIN_IDLE_MS)
  }
  let reading = false
  const turns = new TurnBudget()
  const gathered = new ReadGatherer()
  void exited.then(() => {
    leaderGone = true
    if (reading) armIdle()
  })
  try {
    for (;;) {
      reading = true
      const r = await reader.read()
      reading = false
      if (r.done) return
      clearTimeout(idle)
      const chunk = r.value
      const bytes = chunk.byteLength
      for (let from = 0; from < bytes;) {
        const to = pace.paced() ? pieceEnd(chunk, from) : bytes
        for (let held = pace.ready(); held; held = pace.ready()) await held
        const began = performance.now()
        const handed = onChunk(to - from === bytes ? chunk : chunk.subarray(from, to))
        // The synchronous part, the piece's own: awaited, the time took in other pumps' turns.
        pace.spend(performance.now() - began)
        if (handed) await handed
        from = to
      }
      // The log has the bytes and the journal its copies of the lines: the chunk is done with.
      freeChunk(chunk)
      // Awaited only when there is something to wait for: an `await` of nothing is still a
      // turn of the microtask queue, one per read.
      const turn = turns.spend(bytes)
      if (turn) await turn
      if (leaderGone) armIdle()
      const gather = gathered.after(bytes)
      if (gather) await gather
    }
  } finally {
    clearTimeout(idle)
  }
}
