/**
 * Why a daemon could not be reached, in a person's words: Bun's fetch says it to a programmer
 * ("ECONNRESET: The socket connection was closed unexpectedly. For more information, pass
 * `verbose: true` in the second argument to fetch()", "ECONNREFUSED: Unable to connect. Is the
 * computer able to access the url?"). `remote.ts` (every verb with --url) and `ping` say it alike.
 */
export function unreachableWhy(err: unknown): string {
  const e = err as NodeJS.ErrnoException
  switch (e?.code) {
    case 'ECONNREFUSED':
    case 'ConnectionRefused':
      return 'connection refused (is execd serve running there, on that port?)'
    case 'ENOTFOUND':
      return 'no such host'
    case 'ECONNRESET':
    case 'ConnectionClosed':
      return 'the connection closed before an answer (is it execd there? an https daemon asked over http?)'
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return 'no route to that host'
    case 'ETIMEDOUT':
      return 'the connection timed out'
  }
  if (e?.name === 'TimeoutError') return 'no answer in time'
  // Anything else: Bun's words without its code in front and its advice to programmers behind.
  const message = String(e?.message ?? err)
  return message.replace(/^[A-Z_]+: /, '').replace(/\s*For more information, pass `verbose: true`.*$/s, '')
}
