/**
 * Reads a live bash's stdout and stderr in the background, one chunk in flight per stream, and
 * hands them on in arrival order. Waiting is done with a fresh promise per wait: racing the same
 * long-lived read or exit promise on every chunk would pile reactions (each holding a chunk) on it.
 * In a flood, a read that came back small waits a moment before the next, as a command's pipe
 * does (core/read-gather.ts): a session's flood is read through here, not the commands' pump.
 */
import { ReadGatherer } from '../read-gather'

export type OutputStream = 'stdout' | 'stderr'

type OutputItem =
  { kind: 'data'; stream: OutputStream; data: Uint8Array } | { kind: 'eof'; stream: OutputStream } | { kind: 'exit' }

type Reader = ReadableStreamDefaultReader<Uint8Array>

export class OutputMux {
  private readonly queue: OutputItem[] = []
  private waiter: (() => void) | undefined
  private readonly resume: Partial<Record<OutputStream, () => void>> = {}

  private readonly readers: Record<OutputStream, Reader>

  /** `ended(stream)` once a stream ended or was stopped (stop()): its reader is done with. */
  constructor(
    readers: Record<OutputStream, Reader>,
    exited: Promise<unknown>,
    private readonly ended?: (stream: OutputStream) => void,
  ) {
    this.readers = readers
    for (const s of ['stdout', 'stderr'] as const) void this.loop(s, readers[s]).finally(() => this.ended?.(s))
    void exited.then(() => this.push({ kind: 'exit' }))
  }

  /** Reads no more: each stream's loop ends as if at its end. */
  stop(): void {
    for (const s of ['stdout', 'stderr'] as const) {
      void this.readers[s].cancel().catch(() => {})
      const go = this.resume[s]
      this.resume[s] = undefined
      go?.()
    }
  }

  /**
   * The next item of one of `streams`, or the exit notice. Waits at most `timeoutMs` when given
   * (then undefined). Chunks of other streams stay queued for a later call.
   */
  async take(streams: readonly OutputStream[], timeoutMs?: number): Promise<OutputItem | undefined> {
    for (;;) {
      const i = this.queue.findIndex(x => x.kind === 'exit' || streams.includes(x.stream))
      const [item] = i >= 0 ? this.queue.splice(i, 1) : []
      if (item) {
        if (item.kind === 'data') {
          const go = this.resume[item.stream]
          this.resume[item.stream] = undefined
          go?.()
        }
        return item
      }
      const wake = new Promise<boolean>(r => (this.waiter = () => r(true)))
      if (timeoutMs === undefined) {
        await wake
        continue
      }
      let timer: ReturnType<typeof setTimeout> | undefined
      const woke = await Promise.race([
        wake,
        new Promise<boolean>(r => (timer = setTimeout(() => r(false), timeoutMs))),
      ])
      clearTimeout(timer)
      if (!woke) return undefined
    }
  }

  private async loop(stream: OutputStream, reader: Reader): Promise<void> {
    const gathered = new ReadGatherer()
    for (;;) {
      let r: { done: boolean; value?: Uint8Array }
      try {
        r = await reader.read()
      } catch {
        r = { done: true, value: undefined }
      }
      if (r.done || !r.value) return this.push({ kind: 'eof', stream })
      const bytes = r.value.byteLength
      this.push({ kind: 'data', stream, data: r.value })
      await new Promise<void>(go => (this.resume[stream] = go))
      const gather = gathered.after(bytes)
      if (gather) await gather
    }
  }

  private push(item: OutputItem): void {
    this.queue.push(item)
    const wake = this.waiter
    this.waiter = undefined
    wake?.()
  }
}
