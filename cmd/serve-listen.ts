/**
 * Why serve could not listen, in words a person can act on. Bun's own were one code
 * (`error EADDRINUSE`, `error ERR_OUT_OF_RANGE`, `invalid argument` for a host name that does
 * not resolve) and said neither which address nor which option to change.
 */

/** The error to report for Bun.serve's failure to listen on `hostname`:`port`. */
export function listenFailure(err: unknown, hostname: string, port: number): Error {
  const where = `${hostname.includes(':') ? `[${hostname}]` : hostname}:${port}`
  const code = (err as NodeJS.ErrnoException)?.code
  const why =
    code === 'EADDRINUSE'
      ? 'the port is in use (another execd, or another program: `ss -ltnp` names it); choose another with --port'
      : code === 'EADDRNOTAVAIL'
        ? 'no interface of this machine has that address; choose another with --host'
        : code === 'EINVAL'
          ? 'the address is not one this machine can listen on (a name that does not resolve?); check --host'
          : code === 'EACCES'
            ? 'permission denied (ports below 1024 need root or CAP_NET_BIND_SERVICE); choose another with --port'
            : ((err as Error)?.message ?? String(err))
  return new Error(`cannot listen on ${where}: ${why}`)
}
