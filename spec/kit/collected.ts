/** For tests that a holder lets go of an object: whether it is garbage-collected. */

/** Whether `ref`'s target is collected within a bounded number of full collections. */
export async function collected(ref: WeakRef<object>): Promise<boolean> {
  for (let i = 0; i < 100; i++) {
    Bun.gc(true)
    if (ref.deref() === undefined) return true
    await Bun.sleep(10)
  }
  return false
}
