/**
 * A fresh sql context of a daemon, with the pid of its own SQL client process (sql-driver.js): a
 * spec that bounds what that process reads checks its peak alone (spec/kit/peak-memory.ts).
 */
import { expect } from 'bun:test'
import { type Daemon, pidsWith } from '../harness'
import { createContext, runCode } from '../runtime-kit'

export async function sqlClient(
  d: Daemon,
): Promise<{ pid: number; sql: (code: string) => ReturnType<typeof runCode> }> {
  const before = pidsWith('sql-driver.js', d.proc.pid)
  const id = await createContext(d, 'sql')
  const [pid] = pidsWith('sql-driver.js', d.proc.pid).filter(p => !before.includes(p))
  expect(pid).toBeDefined()
  return { pid: pid!, sql: code => runCode(d, code, { id, language: 'sql' }) }
}
