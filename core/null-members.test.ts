import { describe, expect, test } from 'bun:test'
import { t } from 'elysia'
import { dropNullOptionals } from './null-members'

const Body = t.Object({
  command: t.String(),
  cwd: t.Optional(t.String()),
  envs: t.Optional(t.Record(t.String(), t.String())),
  context: t.Optional(t.Object({ id: t.Optional(t.String()), language: t.String() })),
  left: t.Optional(t.Union([t.Number(), t.Null()])),
})

describe('dropNullOptionals', () => {
  test('an optional member that is null is removed, at any depth', () => {
    const body = { command: 'x', cwd: null, context: { id: null, language: 'python' } }
    expect(dropNullOptionals(Body, body)).toBe(true)
    expect(body).toEqual({ command: 'x', context: { language: 'python' } } as never)
  })

  test("a required member's null and a member that takes null stay", () => {
    const body = { command: null, context: { language: null }, left: null }
    expect(dropNullOptionals(Body, body)).toBe(false)
    expect(body).toEqual({ command: null, context: { language: null }, left: null })
  })

  test("a map's null entry is its value's zero, as Go stores it", () => {
    const body = { command: 'x', envs: { A: null, B: 'b' } }
    expect(dropNullOptionals(Body, body)).toBe(true)
    expect(body).toEqual({ command: 'x', envs: { A: '', B: 'b' } } as never)
    const Map = t.Record(t.String(), t.Object({ mode: t.Optional(t.Number()) }))
    const map = { '/a': null }
    expect(dropNullOptionals(Map, map)).toBe(true)
    expect(map).toEqual({ '/a': {} } as never)
  })

  test("a map's values and an array's items are objects of their own schema", () => {
    const Map = t.Record(t.String(), t.Object({ mode: t.Optional(t.Number()), owner: t.Optional(t.String()) }))
    const map = { '/a': { mode: 755, owner: null } }
    expect(dropNullOptionals(Map, map)).toBe(true)
    expect(map).toEqual({ '/a': { mode: 755 } } as never)
    const List = t.Array(t.Object({ src: t.Optional(t.String()), src_base64: t.Optional(t.String()) }))
    const list = [{ src: '/a', src_base64: null }]
    expect(dropNullOptionals(List, list)).toBe(true)
    expect(list).toEqual([{ src: '/a' }] as never)
  })

  test('no schema, or a body that is not an object, is left alone', () => {
    expect(dropNullOptionals(undefined, { cwd: null })).toBe(false)
    expect(dropNullOptionals(Body, null)).toBe(false)
    expect(dropNullOptionals(Body, 'x')).toBe(false)
  })
})
