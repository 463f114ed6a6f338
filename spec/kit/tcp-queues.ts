/**
 * The kernel's view of this network namespace's TCP connections (/proc/net/tcp{,6}): what a
 * client that reads nothing has been sent so far, which its socket cannot tell.
 */
import { readFileSync } from 'node:fs'
import type { Socket } from 'node:net'

export interface Connection {
  local: number
  remote: number
  state: number
  /** Bytes sent and not yet acknowledged. */
  tx: number
  /** Bytes received and not yet read. */
  rx: number
}

/** Every TCP connection of this network namespace: ports, state, queues. */
export function connections(): Connection[] {
  const out: Connection[] = []
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text = ''
    try {
      text = readFileSync(file, 'latin1')
    } catch {
      continue
    }
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/)
      if (f.length < 5) continue
      const [tx = '0', rx = '0'] = f[4]!.split(':')
      out.push({
        local: parseInt(f[1]!.split(':')[1]!, 16),
        remote: parseInt(f[2]!.split(':')[1]!, 16),
        state: parseInt(f[3]!, 16),
        tx: parseInt(tx, 16),
        rx: parseInt(rx, 16),
      })
    }
  }
  return out
}

/**
 * Whether every one of `clients` (connected, reading nothing) has bytes of its answer waiting in
 * its receive queue: the server has answered each, so whatever it decided per answer is decided.
 */
export function allAnswered(clients: Socket[]): boolean {
  const unread = new Map<number, number>()
  for (const c of connections()) unread.set(c.local * 65536 + c.remote, c.rx)
  return clients.every(s => (unread.get((s.localPort ?? 0) * 65536 + (s.remotePort ?? 0)) ?? 0) > 0)
}
