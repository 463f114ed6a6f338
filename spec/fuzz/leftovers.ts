/**
 * What a scenario may leave behind and must not: a process it started (found by a marker in its
 * command line: `sleep 97.<nonce>`, a duration no one else uses) still alive once what owned it
 * was deleted, a zombie of the daemon's that stays unreaped, a staged temp entry left in a
 * directory a files request wrote to.
 */
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Violation } from './check'
import { childrenOf } from '../harness'
import type { World } from './world'

let nonce = 10_000 + Math.floor(Math.random() * 80_000)
/** A `sleep` argument no other process on the machine has: 97.<5 digits> s. */
export const marker = (): string => `97.${String(nonce++ % 100_000).padStart(5, '0')}`

/** pid, state and parent of the processes whose command line holds `text`. */
export function withMarker(text: string): { pid: number; state: string; ppid: number }[] {
  const out: { pid: number; state: string; ppid: number }[] = []
  for (const entry of readdirSync('/proc')) {
    if (entry.charCodeAt(0) > 57) continue
    try {
      const cmd = readFileSync(`/proc/${entry}/cmdline`, 'latin1').replaceAll('\0', ' ')
      if (!cmd.includes(text)) continue
      const stat = readFileSync(`/proc/${entry}/stat`, 'latin1')
      const [state = '', ppid] = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
      out.push({ pid: Number(entry), state, ppid: Number(ppid) })
    } catch {}
  }
  return out
}

/**
 * Once its owner is deleted (the answer given), nothing of it may run: polled for `graceMs` (a
 * SIGTERM grace, the kernel's exit), then whatever is left is an orphan.
 */
export async function orphans(label: string, text: string, graceMs = 4000): Promise<Violation[]> {
  const deadline = Date.now() + graceMs
  let left = withMarker(text)
  while (left.length && Date.now() < deadline) {
    await Bun.sleep(50)
    left = withMarker(text)
  }
  if (!left.length) return []
  for (const p of left) {
    try {
      process.kill(p.pid, 'SIGKILL')
    } catch {}
  }
  const shown = left.map(p => `${p.pid} ${p.state} ppid ${p.ppid}`).join(', ')
  return [{ kind: 'orphan', detail: `${label}: 'sleep ${text}' still there ${graceMs} ms after: ${shown}` }]
}

/**
 * A child of the daemon's that is a zombie now and still one `graceMs` later was never reaped.
 * Not sooner: Bun reaps its own children on its event loop (which a loaded machine stalls for
 * over a second: /ping took 1.1 s in the run where a 1 s bound first reported a JVM), and
 * execd's reaper sweeps re-parented orphans every 500 ms.
 */
export async function zombies(w: World, graceMs = 5000): Promise<Violation[]> {
  const pid = w.daemon.proc.pid
  let still = childrenOf(pid).filter(p => p.state === 'Z')
  const deadline = Date.now() + graceMs
  while (still.length && Date.now() < deadline) {
    await Bun.sleep(100)
    const now = childrenOf(pid)
    still = still.filter(z => now.some(p => p.pid === z.pid && p.state === 'Z'))
  }
  return still.map(p => ({
    kind: 'zombie' as const,
    detail: `unreaped child ${p.pid} (${p.cmd.slice(0, 80)}) for ${graceMs} ms`,
  }))
}

/** Staged entries (`.execd-tmp-…`, `.execd-commit-…`) under `dir`, a few levels deep. */
export function staged(dir: string, depth = 3): string[] {
  const out: string[] = []
  const walk = (d: string, left: number) => {
    let names: string[] = []
    try {
      names = readdirSync(d)
    } catch {
      return
    }
    for (const name of names) {
      if (name.includes('.execd-tmp-') || name.startsWith('.execd-commit-')) out.push(join(d, name))
      else if (left > 0) {
        try {
          if (readdirSync(join(d, name))) walk(join(d, name), left - 1)
        } catch {}
      }
    }
  }
  walk(dir, depth)
  return out
}
