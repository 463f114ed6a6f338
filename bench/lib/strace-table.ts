/** `strace -c`'s summary read, and two servers' calls set side by side (the syscall benches). */
import { readFileSync } from 'node:fs'

/** strace -c's table: calls (and errors) per syscall name. */
export function parseStraceSummary(text: string): Map<string, { calls: number; errors: number }> {
  const out = new Map<string, { calls: number; errors: number }>()
  for (const line of text.split('\n')) {
    // % time, seconds, usecs/call, calls, [errors,] syscall
    const f = line.trim().split(/\s+/)
    if (f.length < 5 || !/^\d/.test(f[0]!) || f.at(-1) === 'total') continue
    const name = f.at(-1)!
    const calls = Number(f[3])
    const errors = f.length === 6 ? Number(f[4]) : 0
    if (Number.isFinite(calls)) out.set(name, { calls, errors })
  }
  return out
}

/** Prints calls per unit of work of execd and of `otherName`, largest excess of execd's first. */
export function printSyscallDifference(
  title: string,
  otherName: string,
  ours: Map<string, number>,
  theirs: Map<string, number>,
): void {
  const excess = (n: string) => (ours.get(n) ?? 0) - (theirs.get(n) ?? 0)
  const names = [...new Set([...ours.keys(), ...theirs.keys()])].sort((a, b) => excess(b) - excess(a))
  const total = (m: Map<string, number>) => [...m.values()].reduce((a, b) => a + b, 0)
  const row = (name: string, a: number, b: number, digits: number) =>
    `${name.padEnd(18)} ${a.toFixed(digits).padStart(7)} ${b.toFixed(digits).padStart(7)}   ${(a - b).toFixed(digits).padStart(6)}`
  const load = readFileSync('/proc/loadavg', 'utf8').split(' ')[0]
  console.log(`${title}; load average ${load})`)
  console.log(`${'syscall'.padEnd(18)} ${'execd'.padStart(7)} ${otherName.padStart(7)}   execd − ${otherName}`)
  for (const n of names) {
    const [a, b] = [ours.get(n) ?? 0, theirs.get(n) ?? 0]
    if (a >= 0.05 || b >= 0.05) console.log(row(n, a, b, 2))
  }
  console.log(row('total', total(ours), total(theirs), 1))
}
