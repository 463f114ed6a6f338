/**
 * A writer that trickles numbered 1 KiB lines, each written alone and waited on until the reader
 * has taken it (or 50 µs passed): the small reads that execd's read gathering (core/read-gather.ts)
 * must put back together whole and in order.
 */

/** Line `i` of the trickle, without its newline (1,023 bytes). */
export const trickleLine = (i: number): string => `${String(i).padStart(8, '0')}${'.'.repeat(1015)}`

/** The python program writing `lines` of them to stdout, to be quoted in double quotes for `python3 -c`. */
export const trickleProgram = (lines: number): string =>
  [
    'import fcntl, os, stat, struct, termios, time',
    // A socket's unsent bytes, or a pipe's unread ones (a command's stdout is a pipe).
    'ask = termios.TIOCOUTQ if stat.S_ISSOCK(os.fstat(1).st_mode) else termios.FIONREAD',
    "unread = lambda: struct.unpack('i', fcntl.ioctl(1, ask, bytes(4)))[0]",
    `for i in range(${lines}):`,
    "    os.write(1, b'%08d' % i + b'.' * 1015 + b'\\\\n')",
    '    t = time.perf_counter()',
    '    while unread() > 0 and time.perf_counter() - t < 0.00005: pass',
  ].join('\n')
