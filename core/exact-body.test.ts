import { expect, test } from 'bun:test'
import { t } from 'elysia'
import { acceptsExactly } from './exact-body'

const Body = t.Object({
  command: t.String(),
  envs: t.Optional(t.Record(t.String(), t.String())),
  nested: t.Optional(t.Record(t.String(), t.Object({ a: t.Number() }))),
})

test("a Record's members are named by its pattern: a body with envs is taken as it is", () => {
  const accepts = acceptsExactly(Body)
  expect(accepts({ command: 'x', envs: {} })).toBe(true)
  // Refused before: every POST /command with an env went to Elysia and was parsed again.
  expect(accepts({ command: 'x', envs: { A: '1', 'B C': '' } })).toBe(true)
  expect(accepts({ command: 'x', nested: { k: { a: 1 } } })).toBe(true)
})

test('what Elysia would strip or refuse is still refused, within a Record too', () => {
  const accepts = acceptsExactly(Body)
  expect(accepts({ command: 'x', extra: 1 })).toBe(false)
  expect(accepts({ command: 'x', envs: { A: 1 } })).toBe(false)
  expect(accepts({ command: 'x', nested: { k: { a: 1, b: 2 } } })).toBe(false)
  expect(accepts(JSON.parse('{"command":"x","envs":{"__proto__":"y"}}'))).toBe(false)
})
