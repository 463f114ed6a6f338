/**
 * Row 3e's least HTTP server (spawn-server.ts) as its own process, and the client execd gets
 * (execd.ts `post`) pointed at it: the baselines of rows 3e and the command benches beside it.
 */
import { join } from 'node:path'
import type { Execd } from './execd'
import { startLineChild, type LineChild } from './line-child'

export const startLeastServer = (): LineChild =>
  startLineChild([process.execPath, join(import.meta.dir, 'spawn-server.ts')])

/** `headers`: what execd's requests carry too (its token), so both clients send the same. */
export async function leastClient(server: LineChild, headers: Record<string, string> = {}) {
  const url = `http://127.0.0.1:${Number(await server.ask('port'))}`
  return {
    pid: server.pid,
    post: (path: string, body: unknown) =>
      fetch(url + path, {
        method: 'POST',
        body: JSON.stringify(body),
        headers: { ...headers, 'content-type': 'application/json' },
      }),
  } satisfies Pick<Execd, 'pid' | 'post'>
}
