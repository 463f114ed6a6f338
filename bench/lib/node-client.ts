/**
 * The second client of row 1: plain Node `http` with keep-alive on one connection, in a `node`
 * child that times each request itself (node-client.mjs). It gives the figures a user of
 * Node's stock client sees, next to the bench's own Bun `fetch` client.
 */
import { join } from 'node:path'
import { startLineChild } from './line-child'

export interface NodeRequest {
  method: 'GET' | 'POST'
  path: string
  body?: unknown
  /** Time to the first body text containing this (an SSE event), not to the end of the body. */
  until?: string
}

export interface NodeClient {
  /** One request; resolves with the time measured inside the node process and the body. */
  run(req: NodeRequest): Promise<{ ms: number; status: number; body: string }>
  stop(): Promise<void>
}

/** Null when node is on PATH, else what to install. */
export const nodeMissing = (): string | null => (Bun.which('node') ? null : 'node not on PATH (Debian: nodejs)')

export function startNodeClient(url: string, token: string): NodeClient {
  const child = startLineChild(['node', join(import.meta.dir, 'node-client.mjs'), url, token])
  return {
    async run(req) {
      const out = JSON.parse(await child.ask(JSON.stringify(req))) as {
        ms: number
        status: number
        body: string
        error?: string
      }
      if (out.error) throw new Error(`node client: ${out.error}`)
      return out
    },
    stop: () => child.stop(),
  }
}
