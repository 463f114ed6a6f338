/**
 * A daemon stand-in whose every answer opens with `opening` and goes on only as `pull` says
 * (pulled: a piece is made only when the client has taken the last one): for a CLI verb behind
 * an answer that never ends.
 */
export function unendingServer(opts: {
  opening: string
  pull: (c: ReadableStreamDefaultController<Uint8Array>) => void | Promise<void>
  type: string
  status?: number
}) {
  return Bun.serve({
    port: 0,
    hostname: '127.0.0.1',
    fetch: () =>
      new Response(
        new ReadableStream<Uint8Array>({
          start: c => c.enqueue(new TextEncoder().encode(opts.opening)),
          pull: opts.pull,
        }),
        { status: opts.status ?? 200, headers: { 'content-type': opts.type } },
      ),
  })
}
