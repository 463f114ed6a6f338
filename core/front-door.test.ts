import { describe, expect, test } from 'bun:test'
import { t } from 'elysia'
import { arrivingBytes } from './body'
import { ExecdError } from './errors'
import { acceptsExactly } from './exact-body'
import { createFrontDoor, isJsonBody } from './front-door'
import type { DirectRoute } from './plugin'

const Body = t.Object({
  code: t.String({ minLength: 1 }),
  context: t.Optional(t.Object({ id: t.Optional(t.String()) })),
})

/** A front door whose app and direct route each answer with their own name. */
function door() {
  const route: DirectRoute = {
    method: 'POST',
    path: '/code',
    accepts: acceptsExactly(Body),
    handle: async body => Response.json({ by: 'direct', body }),
  }
  return createFrontDoor(async () => Response.json({ by: 'app' }), {
    origin: { checkHost: false, allowedHosts: [], allowedOrigins: [] },
    body: { maxBytes: 1 << 20, timeoutMs: 0 },
    maxRequests: 0,
    rawPrefixes: [],
    shapeOf: () => 'object',
    directOf: (method, path) => (method === route.method && path === route.path ? route : undefined),
  })
}

const by = async (path: string, body: string, method = 'POST') =>
  ((await (await door()(new Request(`http://localhost${path}`, { method, body }))).json()) as { by: string }).by

describe('direct routes', () => {
  test('a body the schema accepts as it is goes to the direct route, parsed', async () => {
    const res = await door()(new Request('http://localhost/code', { method: 'POST', body: '{"code":"1"}' }))
    expect(await res.json()).toEqual({ by: 'direct', body: { code: '1' } })
    expect(await by('/code', '{"code":"1","context":{"id":"c"}}')).toBe('direct')
  })

  test('anything the route would refuse or alter, a query, or another route goes to the app', async () => {
    for (const body of [
      '{"code":""}',
      '{"code":1}',
      '{}',
      '{"code":"1","extra":1}',
      '{"code":"1","context":{"id":"c","extra":1}}',
      '{"code":"1","context":null}',
      '{"code":"1","__proto__":{}}',
      '',
      ' ',
    ])
      expect(await by('/code', body)).toBe('app')
    expect(await by('/code?wait=false', '{"code":"1"}')).toBe('app')
    expect(await by('/code/context', '{"code":"1"}')).toBe('app')
    expect(await by('/code', '{"code":"1"}', 'PUT')).toBe('app')
  })

  test('a direct route that throws is rendered as a JSON error', async () => {
    // Rejected, thrown before its promise (a route written without async), an ExecdError's own code.
    const failures: [() => Promise<Response>, number, string][] = [
      [() => Promise.reject(new Error('boom')), 500, 'boom'],
      [
        () => {
          throw new Error('thrown')
        },
        500,
        'thrown',
      ],
      [() => Promise.reject(new ExecdError('CONTEXT_NOT_FOUND', 'no such context')), 404, 'no such context'],
    ]
    for (const [handle, status, message] of failures) {
      const fetch = createFrontDoor(async () => new Response('app'), {
        origin: { checkHost: false, allowedHosts: [], allowedOrigins: [] },
        body: { maxBytes: 1 << 20, timeoutMs: 0 },
        maxRequests: 0,
        rawPrefixes: [],
        shapeOf: () => 'object',
        directOf: () => ({ method: 'POST', path: '/x', accepts: () => true, handle }),
      })
      const res = await fetch(new Request('http://localhost/x', { method: 'POST', body: '{}' }))
      expect(res.status).toBe(status)
      expect(((await res.json()) as { message: string }).message).toContain(message)
    }
  })

  test('a body for a direct route costs one route lookup; the declared shape is asked only when it refuses', async () => {
    const asked: string[] = []
    const route: DirectRoute = {
      method: 'POST',
      path: '/code',
      accepts: acceptsExactly(Body),
      handle: async () => Response.json({ by: 'direct' }),
    }
    const fetch = createFrontDoor(async () => Response.json({ by: 'app' }), {
      origin: { checkHost: false, allowedHosts: [], allowedOrigins: [] },
      body: { maxBytes: 1 << 20, timeoutMs: 0 },
      maxRequests: 0,
      rawPrefixes: [],
      shapeOf: () => (asked.push('shape'), 'object'),
      directOf: (method, path) => (asked.push('direct'), method === 'POST' && path === '/code' ? route : undefined),
    })
    const send = async (body: string) => {
      asked.length = 0
      const res = await fetch(new Request('http://localhost/code', { method: 'POST', body }))
      return { status: res.status, asked: [...asked] }
    }
    expect(await send('{"code":"1"}')).toEqual({ status: 200, asked: ['direct'] })
    expect(await send('{"code":"1","extra":1}')).toEqual({ status: 200, asked: ['direct', 'shape'] })
    // The shape is still checked for a body the direct route refuses.
    expect(await send('[1]')).toEqual({ status: 400, asked: ['direct', 'shape'] })
  })
})

describe('a body the direct route refuses', () => {
  test('reaches the app parsed once, by the front door, whatever its size', async () => {
    const fetch = createFrontDoor(
      async request => {
        // Elysia's JSON parser calls json(): the value, not a parse of the body's text again.
        const first = await request.json()
        const again = await request.json()
        return Response.json({ same: first === again, extra: (first as { extra: number }).extra })
      },
      {
        origin: { checkHost: false, allowedHosts: [], allowedOrigins: [] },
        body: { maxBytes: 1 << 20, timeoutMs: 0 },
        maxRequests: 0,
        rawPrefixes: [],
        shapeOf: () => 'object',
        directOf: () => ({
          method: 'POST',
          path: '/code',
          accepts: () => false,
          handle: async () => new Response('direct'),
        }),
      },
    )
    // A member no schema names: the direct route refuses it, and the app parsed its text again.
    // With its length, as off the wire: read whole, not in parts (those went on parsed already).
    const body = '{"code":"1","extra":7}'
    const headers = { 'content-length': String(body.length) }
    const res = await fetch(new Request('http://localhost/code', { method: 'POST', body, headers }))
    expect(await res.json()).toEqual({ same: true, extra: 7 })
  })
})

describe('a large body', () => {
  test('reaches the app of a route asked with a query string parsed once, by the front door', async () => {
    const code = 'c'.repeat(200 * 1024)
    const fetch = createFrontDoor(
      async request => {
        // Elysia's JSON parser calls json(): the value, not a parse of the body's text again.
        const first = await request.json()
        const again = await request.json()
        return Response.json({ same: first === again, length: (first as { code: string }).code.length })
      },
      {
        origin: { checkHost: false, allowedHosts: [], allowedOrigins: [] },
        body: { maxBytes: 1 << 20, timeoutMs: 0 },
        maxRequests: 0,
        rawPrefixes: [],
        shapeOf: () => 'object',
      },
    )
    const body = JSON.stringify({ code })
    const res = await fetch(new Request('http://localhost/code?wait=false', { method: 'POST', body }))
    expect(await res.json()).toEqual({ same: true, length: code.length })
  })
})

describe('isJsonBody', () => {
  test('a body is found from its Content-Length or, failing that, from the request itself', () => {
    const post = (init: RequestInit & { headers?: Record<string, string> }) =>
      new Request('http://localhost/x', { method: 'POST', ...init })
    expect(isJsonBody(post({ body: '{}', headers: { 'content-length': '2' } }))).toBe(true)
    expect(isJsonBody(post({ body: '{}' }))).toBe(true)
    const chunks = new ReadableStream({ start: c => (c.enqueue(new TextEncoder().encode('{}')), c.close()) })
    expect(isJsonBody(post({ body: chunks }))).toBe(true)
    expect(isJsonBody(post({}))).toBe(false)
    expect(isJsonBody(post({ headers: { 'content-length': '0' } }))).toBe(false)
    expect(isJsonBody(new Request('http://localhost/x', { method: 'HEAD' }))).toBe(false)
    // A typed body keeps its type where the route declares none (uploads).
    expect(
      isJsonBody(post({ body: 'x', headers: { 'content-length': '1', 'content-type': 'multipart/form-data' } })),
    ).toBe(false)
    expect(isJsonBody(post({ body: 'x', headers: { 'content-type': 'multipart/form-data' } }), [], () => true)).toBe(
      true,
    )
  })
})

describe('a large body', () => {
  test('is counted among the bodies arriving until its parse in turns is done, then no longer', async () => {
    // Parsed in turns, a body no longer counted while parsed gave bodies being parsed no bound.
    const body = JSON.stringify({ code: 'x'.repeat(900_000) })
    const seen: number[] = []
    let running = true
    const watch = () => {
      seen.push(arrivingBytes())
      if (running) setImmediate(watch)
    }
    const request = new Request('http://localhost/code', { method: 'POST', body: streamOf(body) })
    const answer = door()(request)
    setImmediate(watch)
    const res = await answer
    running = false
    expect(((await res.json()) as { by: string }).by).toBe('direct')
    // The read took turns too (a chunk each): the parse's turns come after the last of them.
    expect(seen.filter(bytes => bytes === body.length).length).toBeGreaterThan(2)
    expect(arrivingBytes()).toBe(0)
  })
})

/** A stream of `text` in chunks of 64 KiB: a body of no announced length, read in parts. */
function streamOf(text: string): ReadableStream<Uint8Array> {
  const bytes = new TextEncoder().encode(text)
  let at = 0
  return new ReadableStream({
    pull(controller) {
      if (at >= bytes.length) return controller.close()
      controller.enqueue(bytes.slice(at, at + 65_536))
      at += 65_536
    },
  })
}
