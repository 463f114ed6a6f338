/**
 * Directories an upload or a move made on the way to its destination, while that write is in
 * flight: if it fails, it removes them again (Anchor.undoCreated). A `POST /directories` that
 * meets one claims it, and then it stays: the mkdir had answered 200, and an upload failing a
 * moment later removed the (empty) directory it had made.
 *
 * Process-wide, as the directories are: the scopes of one filesystem are many (an isolated
 * session's is made per request). Only writes in flight are held, each until its anchor closes.
 */
interface Inode {
  dev: number
  ino: number
}

const inFlight = new Map<string, { claimed: boolean }>()
const keyOf = (st: Inode) => `${st.dev}:${st.ino}`

/** A tracked walk made this directory: the key to ask and release it by. */
export function madeInFlight(st: Inode): string {
  const key = keyOf(st)
  inFlight.set(key, { claimed: false })
  return key
}

/** A mkdir met this directory: if a write in flight made it, that write no longer removes it. */
export function claimDirectory(st: Inode): void {
  const made = inFlight.get(keyOf(st))
  if (made) made.claimed = true
}

export const isClaimed = (key: string): boolean => inFlight.get(key)?.claimed === true

export const releaseMade = (key: string): void => void inFlight.delete(key)
