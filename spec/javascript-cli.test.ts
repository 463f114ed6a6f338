/** `execd exec javascript|typescript`: the executable running its own Bun, without HTTP. */
import { expect, test } from 'bun:test'
import { runCliSync } from './harness'

const execd = (args: string[], stdin?: string) => runCliSync(['exec', ...args], { stdin })

test('typescript from stdin prints its output, not its last value (as node -e), exit 0', () => {
  const r = execd(['typescript', '-'], 'const n: number = 41\nconsole.log("hello", n + 1)\nn + 1')
  expect(r).toMatchObject({ code: 0, stdout: 'hello 42\n' })
})

test('a javascript error prints the stack with the code line on stderr and exits 1', () => {
  const r = execd(['javascript', 'function f() { throw new RangeError("nope") }\nf()'])
  expect(r.code).toBe(1)
  expect(r.stderr).toContain('RangeError: nope')
  expect(r.stderr).toContain('throw new RangeError("nope")')
})

test('--list shows both languages available through the executable itself', () => {
  const r = execd(['--list'])
  expect(r.stdout).toMatch(/javascript\s+available/)
  expect(r.stdout).toMatch(/typescript\s+available/)
})
