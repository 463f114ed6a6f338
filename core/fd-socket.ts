/**
 * A pipe or socketpair end execd was handed as an fd, read as a socket of Bun's event loop: its
 * data handed over in a callback as it comes. A stream reader of the fd made three reads and two
 * re-arms of the poll per message (the message, then reads that found it empty, each re-arming),
 * and a promise per chunk. Bun owns the fd from here on and closes it with the socket.
 */

export interface FdSocketHandlers {
  /** A read's bytes: Bun's own buffer, reused after the call (copy what is kept). */
  data(socket: Bun.Socket<undefined>, chunk: Uint8Array): void
  /** The far end closed or the socket failed; `close` too unless given its own. */
  end(): void
  /** The fd closed. */
  close?(): void
}

export function openFdSocket(fd: number, on: FdSocketHandlers): Promise<Bun.Socket<undefined>> {
  const options: Bun.FdSocketOptions<undefined> = {
    fd,
    socket: {
      data: (socket, chunk) => on.data(socket, chunk),
      end: () => on.end(),
      error: () => on.end(),
      close: () => (on.close ?? on.end)(),
    },
  }
  // Bun takes an fd here (its typings declare FdSocketOptions but list no overload for it).
  return Bun.connect(options as unknown as Bun.UnixSocketOptions<undefined>)
}
