/**
 * How execd's server treats connections, and what must exist before file descriptors can run
 * out. Bun accepts every connection it can (it has no cap on connections, and raises
 * RLIMIT_NOFILE's soft limit to the hard one as it starts): a flood of connections that send
 * nothing takes every fd execd may open. Measured with Bun 1.4.5 (spec/connections.test.ts):
 * - Bun's listener has TCP_DEFER_ACCEPT at 1 s: a connection that sends nothing is accepted one
 *   second after it came (execd lengthens that: core/defer-accept.ts);
 * - a connection that never sends a request is closed by Bun within 10-14 s (uWS's fixed
 *   HTTP_IDLE_TIMEOUT_S and its 4 s sweep), whatever `idleTimeout` says; one with half a head
 *   (slowloris) too;
 * - after a request, the connection waits `idleTimeout` for the next one; `server.timeout(req,
 *   n)` sets it for the connection, and it stays after that request ends, so a short timeout
 *   between requests and a long one within them cannot both be had;
 * - `closeIdleConnections()` closes none of the connections that never sent a request;
 * - at the limit, accept() fails with EMFILE and the listener stays readable: Bun's loop retries
 *   at once, ~40-75% of a core until fds free up (uSockets has a "Todo: start timer here" where
 *   a back-off belongs; oven-sh/bun pull request 32705, open, drains and backs off).
 * - connections kept alive between requests stay for idleTimeout (120 s): 512 of them, each
 *   having sent one /ping with the token, held a daemon limited to 256 fds at its limit, its
 *   accept loop at 78-92% of a core, and a /ping on a new connection went unanswered for more
 *   than 30 s. `closeIdleConnections()` does close these (not those that never sent a request).
 * What execd does about it: every operation refused for want of an fd answers the 503 of
 * core/errors.ts and recovers once fds free up; an answer to a request without the token closes
 * its connection (core/front-door.ts); the one fd user that ends the process at EMFILE is
 * started while there are fds to spare (below); and while every fd is taken, connections idle
 * between requests are closed (core/idle-reclaim.ts), as a server out of connection slots drops
 * its kept-alive ones first: their clients reconnect, where a new client could not connect at all.
 * Connections that never send a request are kept in the kernel, not accepted, for
 * `--defer-accept` (core/defer-accept.ts).
 */

/** The options of Bun.serve that govern connections. */
export const CONNECTION_OPTIONS = {
  // Seconds a connection may stay silent, between requests and within one. Not shorter: streams
  // send a ping every 3 s, but a download to a reader that pauses, a proxied upstream that
  // thinks, a search of a large tree or a DELETE waiting out the shutdown grace send nothing
  // meanwhile, and Bun applies the one value to both (above). WebSockets have their own.
  idleTimeout: 120,
} as const

/**
 * Starts Bun's HTTP client (the thread behind `fetch`), as the proxy and the Jupyter bridge
 * would on first use. Started at EMFILE, it ends the process ("bun ran out of file descriptors
 * (ProcessFdQuotaExceeded)", exit 1, every child left behind): the first proxied request while
 * connections held every fd took execd down. Once running, a fetch at the limit only fails.
 * Port 0: nothing can listen there, so nothing is sent anywhere. Costs a thread and two fds.
 */
export function startHttpClient(): Promise<void> {
  return fetch('http://127.0.0.1:0/').then(
    () => undefined,
    () => undefined,
  )
}
