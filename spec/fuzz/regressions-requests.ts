/**
 * Issue 17's findings, one request each, as regression cases of the fuzz suite: requests no route
 * may take (a body nested 10,000 deep or not one object, a 64 KiB query, a cwd outside --root).
 */
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import type { Finding } from './campaign'
import { operations } from './operations'
import { expectJsonError, expectStatus, field, request } from './probe'
import { removeOne, type World } from './world'

const DEPTH = 10_000
const deepArray = '['.repeat(DEPTH) + ']'.repeat(DEPTH)
const deepObject = '{"a":'.repeat(DEPTH) + 'null' + '}'.repeat(DEPTH)

/** The first property of a body schema: where a typed field gets the nesting. */
function deepBodies(schema: any): string[] {
  if (schema.type === 'array') return [`[{"src":${deepArray},"dest":"x"}]`]
  if (schema.patternProperties) return [`{"d":{"mode":${deepObject}}}`, `{"d":${deepArray}}`]
  const first = Object.keys(schema.properties ?? {})[0] ?? 'a'
  return [`{"${first}":${deepArray}}`]
}

/** 17.1: a 10,000-deep body on every JSON route is refused while parsing: 400 INVALID_REQUEST_BODY. */
export async function deepJson(w: World): Promise<Finding[]> {
  const doc = await (await w.daemon.fetch('/openapi.json')).json()
  const session = field(await request(w, 'POST', '/session', '{}'), 'session_id')
  if (session) w.created.add('session', session)
  const out: Finding[] = []
  for (const op of operations(doc).filter(op => op.schema)) {
    const path = op.route.replace('{id}', session ?? 'none')
    const bodies = deepBodies(op.schema)
    if (op.route === '/command') bodies.push(`{"command":"true","envs":${deepObject}}`)
    for (const body of bodies) {
      // A parser that refuses nesting answers at once; 4 s is already a hang here.
      const a = await request(w, op.method, path, body, 4000)
      const input = `${op.method} ${path} ${body.slice(0, 40)}… (${DEPTH} deep)`
      out.push(...expectStatus(op.key, input, a, 400, 'INVALID_REQUEST_BODY'))
    }
  }
  if (session) await removeOne(w.daemon, w.created, 'session', session)
  return out
}

/** 17.2: a 64 KiB query value is an error the contract's way: JSON with a Content-Type. */
export async function hugeQuery(w: World): Promise<Finding[]> {
  const value = 'q'.repeat(64 * 1024)
  const out: Finding[] = []
  for (const path of [`/files/info?path=${value}`, `/ping?x=${value}`, `/directories/list?path=${value}`]) {
    const a = await request(w, 'GET', path)
    out.push(...expectJsonError(`GET ${path.split('?')[0]}`, `GET ${path.slice(0, 40)}… (64 KiB value)`, a))
  }
  return out
}

/** 17.3: with --root, a working directory outside it is a 400 and nothing is created there. */
export async function cwdOutsideRoot(w: World): Promise<Finding[]> {
  const cases = [
    {
      op: 'POST /session',
      path: '/session',
      name: 'x-session',
      body: (cwd: string) => ({ cwd }),
      id: 'session_id',
      kind: 'session',
    },
    {
      op: 'POST /code/context',
      path: '/code/context',
      name: 'x-context',
      body: (cwd: string) => ({ language: 'bash', cwd }),
      id: 'id',
      kind: 'context',
    },
    {
      op: 'POST /command',
      path: '/command',
      name: 'x-command',
      body: (cwd: string) => ({ command: 'true', cwd }),
      id: '',
      kind: '',
    },
    { op: 'POST /pty', path: '/pty', name: 'x-pty', body: (cwd: string) => ({ cwd }), id: 'session_id', kind: 'pty' },
  ] as const
  const out: Finding[] = []
  for (const c of cases) {
    for (const cwd of [`../../${c.name}`, join(w.layout.sentinel, c.name)]) {
      const a = await request(w, 'POST', c.path, JSON.stringify(c.body(cwd)))
      const id = c.id ? field(a, c.id) : null
      if (id && c.kind) await removeOne(w.daemon, w.created, c.kind, id)
      out.push(...expectStatus(c.op, `${c.op} ${JSON.stringify(c.body(cwd))}`, a, 400, undefined, 'escape'))
    }
    for (const where of [join(w.layout.base, c.name), join(w.layout.sentinel, c.name)])
      if (existsSync(where))
        out.push({
          kind: 'escape',
          op: c.op,
          detail: `created ${where} outside the root`,
          example: `cwd ../../${c.name}`,
        })
  }
  return out
}

/** 17.4 and 10.14: POST /session and POST /pty refuse a body that is not one JSON object. */
export async function malformedBodies(w: World): Promise<Finding[]> {
  const bodies: (string | Uint8Array)[] = [
    "{'a':1}",
    '{"a":1}{"b":2}',
    '[]',
    'null',
    '{"cwd": ',
    '[1,2]',
    Uint8Array.from([0x7b, 0x22, 0xff, 0x22, 0x3a, 0x31, 0x7d]),
  ]
  const out: Finding[] = []
  for (const [path, kind] of [
    ['/session', 'session'],
    ['/pty', 'pty'],
  ] as const)
    for (const body of bodies) {
      const a = await request(w, 'POST', path, body)
      const id = field(a, 'session_id')
      if (id) await removeOne(w.daemon, w.created, kind, id)
      const shown = typeof body === 'string' ? JSON.stringify(body) : 'invalid UTF-8 bytes'
      out.push(...expectStatus(`POST ${path}`, `POST ${path} ${shown}`, a, 400, undefined, 'malformed-accepted'))
    }
  return out
}
