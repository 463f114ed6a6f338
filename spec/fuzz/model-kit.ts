/** What the model-based fuzz's steps share (model.ts): the model, the daemon, answers read whole. */
import type { Daemon } from '../harness'
import { dataOf } from './stream'

/** The few leaf names files take: small, so steps collide (overwrite, move onto, delete twice). */
export const NAMES = ['a', 'b', 'c.txt', 'd/e', 'd/f g'] as const
export type Name = (typeof NAMES)[number]
/** Languages whose contexts are cheap to start here. */
export const LANGS = ['python', 'javascript', 'bash'] as const
export type Lang = (typeof LANGS)[number]

export interface Model {
  files: Map<Name, Uint8Array>
  /** Context id → its language and the value its `v` holds (undefined: never set). */
  contexts: Map<string, { lang: Lang; v?: number }>
  deletedContexts: string[]
  sessions: Map<string, { v?: number }>
  deletedSessions: string[]
}

export interface Real {
  d: Daemon
  /** The directory (absolute, inside the daemon's root) the model's files live under. */
  dir: string
}

/** A step's wrong answer: what was asked, what the model expected, what came. */
export class Disagreement extends Error {}
export const fail = (what: string): never => {
  throw new Disagreement(what)
}
export const LIMIT_MS = 60_000

export async function json(
  r: Real,
  path: string,
  init: RequestInit = {},
): Promise<{ status: number; body: any; text: string }> {
  const res = await r.d.fetch(path, { signal: AbortSignal.timeout(LIMIT_MS), ...init })
  const text = await res.text()
  let body: any
  try {
    body = JSON.parse(text)
  } catch {}
  return { status: res.status, body, text }
}
export const post = (r: Real, path: string, body: unknown) =>
  json(r, path, { method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json' } })
export const q = (p: string) => encodeURIComponent(p)

/** An SSE answer's data frames. */
export async function frames(
  r: Real,
  path: string,
  body: unknown,
): Promise<{ status: number; frames: any[]; text: string }> {
  const res = await r.d.fetch(path, {
    method: 'POST',
    body: JSON.stringify(body),
    headers: { 'content-type': 'application/json' },
    signal: AbortSignal.timeout(LIMIT_MS),
  })
  const text = await res.text()
  if (!(res.headers.get('content-type') ?? '').includes('text/event-stream'))
    return { status: res.status, frames: [], text }
  const out = text
    .split('\n\n')
    .map(dataOf)
    .filter(Boolean)
    .map(d => JSON.parse(d))
  return { status: res.status, frames: out, text }
}
export const stdoutOf = (fs: any[]) =>
  fs
    .filter(f => f.type === 'stdout')
    .map(f => f.text)
    .join('')
export const resultOf = (fs: any[]) => fs.find(f => f.type === 'result')?.results?.['text/plain'] as string | undefined
export const terminal = (fs: any[]) => fs.filter(f => f.type === 'execution_complete' || f.type === 'error').length
