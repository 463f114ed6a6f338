/**
 * Issue 10's single-request findings as regression cases of the fuzz suite: values a schema lets
 * through (sizes, paths, timeouts, hosts, owners, names) that did harm after it.
 */
import { existsSync, lstatSync, readFileSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import type { Finding } from './campaign'
import { expectJsonError, expectStatus, field, framing, rawRequest, request } from './probe'
import { runWs } from './ws'
import type { World } from './world'

/** 10.2: resize frames a terminal cannot take are answered on the socket, never thrown. */
export async function ptyResize(w: World): Promise<Finding[]> {
  const sizes: [unknown, unknown][] = [
    [65536, 24],
    [1e5, 24],
    [1e9, 24],
    [2 ** 32, 24],
    [80, 70000],
    [-1, -1],
    ['NaN', 24],
    [80, 1e308],
  ]
  const frames = sizes.map(([cols, rows]) => ({ json: { type: 'resize', cols, rows } as never }))
  const found = await runWs({ kind: 'ws', query: [], frames }, w)
  const input = `resize frames ${JSON.stringify(sizes)}`
  // A crash is reported by runGroup, with the daemon's last words.
  return found.map(v => ({ kind: v.kind, op: 'GET /pty/{id}/ws', detail: v.detail, example: input }))
}

/** 10.5: an empty path (query value or JSON key) is a 400 on every route; the root stays. */
export async function emptyPaths(w: World): Promise<Finding[]> {
  const mode = () => lstatSync(w.layout.root).mode
  const before = mode()
  const cases: [string, string, string?][] = [
    ['DELETE', '/directories?path='],
    ['DELETE', '/files?path='],
    ['GET', '/files/info?path='],
    ['GET', '/files/download?path='],
    ['GET', '/directories/list?path='],
    ['GET', '/files/search?path=&pattern=*'],
    ['POST', '/files/permissions', '{"":{"mode":777}}'],
    ['POST', '/directories', '{"":{"mode":755}}'],
    ['POST', '/files/replace', '{"":{"old":"a","new":"b"}}'],
    ['POST', '/files/mv', '[{"src":"","dest":"x"}]'],
  ]
  const out: Finding[] = []
  for (const [method, path, body] of cases) {
    const a = await request(w, method, path, body)
    out.push(...expectStatus(`${method} ${path.split('?')[0]}`, `${method} ${path} ${body ?? ''}`, a, 400))
  }
  if (!existsSync(w.layout.root))
    out.push({ kind: 'escape', op: 'DELETE /directories', detail: 'the root was removed', example: 'path=' })
  else if (mode() !== before)
    out.push({
      kind: 'contract',
      op: 'POST /files/permissions',
      detail: `the root's mode changed ${before.toString(8)} → ${mode().toString(8)}`,
      example: '{"":{…}}',
    })
  return out
}

/** 10.11: a timeout at or past 2³¹ ms is not "now": the command runs to its end. */
export async function longTimeouts(w: World): Promise<Finding[]> {
  const out: Finding[] = []
  for (const timeout of [3e9, 2 ** 31, 2 ** 53 - 1, 1e308]) {
    const body = JSON.stringify({ command: 'sleep 0.3; echo ok', timeout })
    const a = await request(w, 'POST', '/command', body)
    if (!(a.text.includes('"text":"ok"') && a.text.includes('execution_complete')))
      out.push({
        kind: 'contract',
        op: 'POST /command',
        detail: `killed early: ${a.status} ${a.text.slice(-200)}`,
        example: body,
      })
  }
  const session = field(await request(w, 'POST', '/session', '{}'), 'session_id')
  if (session) {
    const body = JSON.stringify({ command: 'sleep 0.3; echo ok', timeout: 3e9 })
    const a = await request(w, 'POST', `/session/${session}/run`, body)
    if (!(a.text.includes('"text":"ok"') && a.text.includes('execution_complete')))
      out.push({
        kind: 'contract',
        op: 'POST /session/{id}/run',
        detail: `killed early: ${a.status} ${a.text.slice(-200)}`,
        example: body,
      })
    await request(w, 'DELETE', `/session/${session}`)
  }
  return out
}

/** 10.15 and 10.7: a short or odd Host routes by the path; no Host is a JSON answer, not a debug page. */
export async function hostHeaders(w: World): Promise<Finding[]> {
  const out: Finding[] = []
  const ab = await rawRequest(w, 'GET', '/ab/metrics', framing('ab'))
  out.push(...expectStatus('GET /ab/metrics', 'GET /ab/metrics with Host: ab', ab, 404))
  for (const host of ['x', 'api']) {
    const a = await rawRequest(w, 'GET', '/ping', framing(host))
    out.push(...expectStatus('GET /ping', `GET /ping with Host: ${host}`, a, 200))
  }
  for (const [host, http10] of [
    [null, true],
    ['', true],
    ['a b', false],
  ] as const) {
    const a = await rawRequest(w, 'POST', '/command', framing(host, http10), '{}')
    const input = `POST /command {} HTTP/1.${http10 ? 0 : 1} with ${host === null ? 'no Host' : `Host: "${host}"`}`
    out.push(...expectJsonError('POST /command', input, a))
    if (a.status >= 500)
      out.push({ kind: '5xx', op: 'POST /command', detail: `${a.status} ${a.text.slice(0, 120)}`, example: input })
  }
  // Hosts Bun takes and the URL parser refuses (pass 21): routed by the target, never the 500 "Invalid URL".
  for (const host of ['x:99999', '[::1', '1.2.3.4.5', 'x:80:80']) {
    const a = await rawRequest(w, 'GET', `/files/info?path=${encodeURIComponent(w.layout.root)}`, framing(host))
    out.push(...expectStatus('GET /files/info', `GET /files/info with Host: ${host}`, a, 200))
  }
  return out
}

/** 10.16: an owner past any uid is a 400 and nothing is created or written first. */
export async function hugeOwner(w: World): Promise<Finding[]> {
  const owner = '99999999999999999999'
  const out: Finding[] = []
  const dir = await request(w, 'POST', '/directories', JSON.stringify({ 'owner-dir': { mode: 755, owner } }))
  out.push(...expectStatus('POST /directories', `{"owner-dir":{"owner":"${owner}"}}`, dir, 400))
  if (existsSync(join(w.layout.root, 'owner-dir')))
    out.push({
      kind: 'contract',
      op: 'POST /directories',
      detail: 'created the directory before failing',
      example: `owner ${owner}`,
    })
  const perm = await request(w, 'POST', '/files/permissions', JSON.stringify({ 'a.txt': { owner } }))
  out.push(...expectStatus('POST /files/permissions', `{"a.txt":{"owner":"${owner}"}}`, perm, 400))
  const form = new FormData()
  form.append('metadata', new Blob([JSON.stringify({ path: 'owner-up.txt', owner })]), 'metadata')
  form.append('file', new Blob(['x']), 'x')
  const up = await w.daemon.fetch('/files/upload', { method: 'POST', body: form, signal: AbortSignal.timeout(15_000) })
  out.push(
    ...expectStatus(
      'POST /files/upload',
      `metadata {"owner":"${owner}"}`,
      { status: up.status, headers: up.headers, text: await up.text(), outcome: 'answered' },
      400,
    ),
  )
  if (existsSync(join(w.layout.root, 'owner-up.txt')))
    out.push({
      kind: 'contract',
      op: 'POST /files/upload',
      detail: `wrote the file (${readFileSync(join(w.layout.root, 'owner-up.txt'), 'utf8')}) before failing`,
      example: `owner ${owner}`,
    })
  return out
}

/**
 * 10.17: `$VAR` in a path never echoes the daemon's environment; nor does a context's cwd,
 * whose answer repeats the cwd as written (it gave the expansion until seed 34001 found it).
 */
export async function envEcho(w: World): Promise<Finding[]> {
  const out: Finding[] = []
  const info = await request(w, 'GET', '/files/info?path=x$FUZZ_MARK')
  if (info.text.includes(w.marker))
    out.push({
      kind: 'env-leak',
      op: 'GET /files/info',
      detail: `${info.status} ${info.text.slice(0, 160)}`,
      example: 'path=x$FUZZ_MARK',
    })
  const made = await request(w, 'POST', '/code/context', '{"language":"bash","cwd":"./ctx$FUZZ_MARK"}')
  if (made.text.includes(w.marker))
    out.push({
      kind: 'env-leak',
      op: 'POST /code/context',
      detail: `${made.status} ${made.text.slice(0, 160)}`,
      example: 'cwd ./ctx$FUZZ_MARK',
    })
  const id = made.status === 200 ? (JSON.parse(made.text) as { id: string }).id : undefined
  if (id) await request(w, 'DELETE', `/code/contexts/${id}`)
  // The directory the cwd made is named by the expansion: a listing of the root after this would
  // hold the marker (fuzz.test's campaign lists the root).
  for (const base of [w.layout.root, w.layout.cwd])
    rmSync(join(base, `ctx${w.marker}`), { recursive: true, force: true })
  return out
}
