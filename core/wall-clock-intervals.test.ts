/**
 * Intervals are measured on the monotonic clock (performance.now, or the awake clock), never on
 * the wall clock: a system clock stepped back an hour kept a kill's grace, a terminal's hang-up
 * and a search's time budget going for that hour, and one stepped forward ended them at once
 * (spec/wall-clock-step.test.ts). Date.now() is for timestamps; arithmetic on it is looked for
 * here, in every source file execd is built from.
 */
import { expect, test } from 'bun:test'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'

const ROOT = join(import.meta.dir, '..')
/** Arithmetic on the wall clock that is meant: a timestamp of when a stall began (loop-lag). */
const ALLOWED = new Set(['core/loop-lag.ts'])
const ARITHMETIC = /Date\.now\(\)\s*[-+]|[-+]\s*Date\.now\(\)|getTime\(\)\s*[-+]|[-+]\s*\w+(\.\w+)*\.getTime\(\)/

test('no interval is measured on the wall clock', () => {
  const found: string[] = []
  for (const dir of ['core', 'plugins', 'cmd']) {
    for (const path of new Bun.Glob('**/*.ts').scanSync({ cwd: join(ROOT, dir) })) {
      const file = `${dir}/${path}`
      if (file.endsWith('.test.ts') || file.endsWith('/test-server.ts') || ALLOWED.has(file)) continue
      readFileSync(join(ROOT, file), 'utf8')
        .split('\n')
        .forEach((line, i) => ARITHMETIC.test(line) && found.push(`${file}:${i + 1}: ${line.trim()}`))
    }
  }
  expect(found).toEqual([])
})
