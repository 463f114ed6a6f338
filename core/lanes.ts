/**
 * Work on a list, at most `lanes` items in flight at once: enough to overlap the waits (the
 * thread pool's reads of /proc, fsyncs sharing a journal commit) without queueing the whole list
 * on the pool at once. The first failure stops the lanes taking more and is thrown once the items
 * in flight have settled.
 */
export async function inLanes<T>(items: readonly T[], lanes: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0
  let failure: { err: unknown } | undefined
  const lane = async () => {
    while (next < items.length && !failure) {
      try {
        await work(items[next++]!)
      } catch (err) {
        failure ??= { err }
      }
    }
  }
  await Promise.all(Array.from({ length: Math.min(lanes, items.length) }, lane))
  if (failure) throw failure.err
}
