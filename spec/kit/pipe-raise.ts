/**
 * A command that reports its stdout pipe's size (F_GETPIPE_SZ, 1032) before and after it wrote
 * more than a default pipe holds, and its stderr's, on stderr: `before after stderr`. execd
 * raises a command's stdout once it has carried 64 KiB (core/output-pipes.ts), after reading
 * it, so the second size is polled for (up to 10 s), not read at once.
 */
const script = [
  'import fcntl, os, sys, time',
  'first = fcntl.fcntl(1, 1032)',
  'os.write(1, b"x" * 70000)',
  'deadline = time.monotonic() + 10',
  'while fcntl.fcntl(1, 1032) == first and time.monotonic() < deadline: time.sleep(0.01)',
  'print(first, fcntl.fcntl(1, 1032), fcntl.fcntl(2, 1032), file=sys.stderr)',
].join('\n')

/** The command; its stdout is 70,000 bytes. */
export const PIPE_SIZES_COMMAND = `python3 -c '${script}'`
/** Its stdout's length. */
export const PIPE_SIZES_WRITTEN = 70000
