/**
 * A download sent from the file itself (past --download-copy-max, or where no copy can be made)
 * goes out by sendfile, whose pages stay the file's until the client has read them: a
 * truncation while they wait in the socket's queues zeroes them (the page of the cut, or its
 * whole large folio), and the client got the whole Content-Length, with zeros where the file
 * had data (measured on 6.18, ext4, the client not reading: 5,000,000 bytes of which 1,194,303
 * zeros, answered in full). This watches the file while its answer is being sent or waits in
 * the kernel, and when it shrinks below what was promised resets the connection:
 * connect(AF_UNSPEC) on a TCP socket drops what is still queued and sends RST, so the client
 * sees the answer fail short of its length instead of taking the zeros as the file.
 */
import { closeSync, fstatSync } from 'node:fs'
import type { FileHandle } from 'node:fs/promises'
import { whenAnswered, type Answer } from './answering'
import { heldConnection } from './connection-fd'

const AF_UNSPEC = 0
const TIOCOUTQ = 0x5411
/** How often a guarded file's size is looked at. */
const CHECK_MS = 50

/**
 * Resets the answer's connection if `file` shrinks below `end` before the answer has left the
 * machine's queues; false when it cannot be watched (no server, no peer, no FFI), and the
 * caller keeps what it did before. Holds `file` open until then; closes it after.
 */
export function guardSend(file: FileHandle, end: number, answer: Answer | undefined): boolean {
  // A descriptor of our own: Bun closes its own once it has handed the last bytes to the kernel
  // (Connection: close), while they may still wait there. Ours keeps the socket, so it can still
  // be reset, and lets it close when the guard ends.
  const held = heldConnection(answer)
  if (!held || !answer) return false
  const { fd, s } = held
  let answered = false
  if (!whenAnswered(answer, () => (answered = true))) {
    closeSync(fd)
    return false
  }
  const queued = new Int32Array(1)
  const stop = () => {
    clearInterval(timer)
    try {
      closeSync(fd)
    } catch {}
    void file.close().catch(() => {})
  }
  const timer = setInterval(() => {
    let size = end
    try {
      size = fstatSync(file.fd).size
    } catch {}
    // A file that shrank makes sendfile stop short too, and Bun then ends the answer as if it
    // were whole: reset, the client sees it fail at once whichever way it was cut.
    if (size < end) {
      s.connect(fd, new Uint8Array(16).fill(AF_UNSPEC), 16)
      return stop()
    }
    // Over once Bun is done with it and the kernel has nothing of it left to send (a client
    // that went: nothing left either).
    if (answered && (s.ioctl(fd, TIOCOUTQ, queued) !== 0 || queued[0] === 0)) stop()
  }, CHECK_MS)
  timer.unref?.()
  return true
}
