/** The model-based fuzz's steps with state (model.ts): contexts and sessions made, used, deleted. */
import fc from 'fast-check'
import {
  fail,
  frames,
  json,
  type Lang,
  type Model,
  post,
  q,
  type Real,
  resultOf,
  stdoutOf,
  terminal,
} from './model-kit'

const SET: Record<Lang, (v: number) => string> = {
  python: v => `v = ${v}`,
  javascript: v => `globalThis.v = ${v}`,
  bash: v => `v=${v}`,
}
const GET: Record<Lang, string> = { python: 'print(v)', javascript: 'console.log(v)', bash: 'echo $v' }

export class NewContext implements fc.AsyncCommand<Model, Real> {
  constructor(readonly lang: Lang) {}
  check = (m: Readonly<Model>) => m.contexts.size < 4
  async run(m: Model, r: Real) {
    const a = await post(r, '/code/context', { language: this.lang })
    if (a.status !== 200 || typeof a.body?.id !== 'string') fail(`new ${this.lang} context: ${a.status} ${a.text}`)
    if (m.contexts.has(a.body.id) || m.deletedContexts.includes(a.body.id)) fail(`context id ${a.body.id} given twice`)
    m.contexts.set(a.body.id, { lang: this.lang })
  }
  toString = () => `new context ${this.lang}`
}

/** Picks a context by index among the model's, or one deleted (its answers are 404). */
const pickContext = (m: Readonly<Model>, k: number, gone: boolean): string | undefined => {
  const ids = gone ? m.deletedContexts : [...m.contexts.keys()]
  return ids.length ? ids[k % ids.length] : undefined
}

export class SetInContext implements fc.AsyncCommand<Model, Real> {
  constructor(
    readonly k: number,
    readonly v: number,
    readonly gone: boolean,
  ) {}
  check = (m: Readonly<Model>) => pickContext(m, this.k, this.gone) !== undefined
  async run(m: Model, r: Real) {
    const id = pickContext(m, this.k, this.gone)!
    const c = m.contexts.get(id)
    const lang = c?.lang ?? 'python'
    const a = await frames(r, '/code', { code: SET[lang](this.v), context: { id, language: lang } })
    if (!c) return void (a.status === 404 || fail(`run in deleted context ${id}: ${a.status} ${a.text.slice(0, 200)}`))
    if (a.status !== 200 || terminal(a.frames) < 1) fail(`set v in ${lang} ${id}: ${a.status} ${a.text.slice(0, 300)}`)
    if (a.frames.some(f => f.type === 'error'))
      fail(`set v in ${lang}: error ${JSON.stringify(a.frames.find(f => f.type === 'error'))}`)
    c.v = this.v
  }
  toString = () => `set v=${this.v} in ${this.gone ? 'deleted ' : ''}context #${this.k}`
}

export class GetInContext implements fc.AsyncCommand<Model, Real> {
  constructor(readonly k: number) {}
  check = (m: Readonly<Model>) => pickContext(m, this.k, false) !== undefined
  async run(m: Model, r: Real) {
    const id = pickContext(m, this.k, false)!
    const c = m.contexts.get(id)!
    const a = await frames(r, '/code', { code: GET[c.lang], context: { id, language: c.lang } })
    if (a.status !== 200) fail(`read v in ${c.lang} ${id}: ${a.status} ${a.text.slice(0, 200)}`)
    const out = (stdoutOf(a.frames) || resultOf(a.frames) || '').trim()
    if (c.v === undefined) {
      // Never set: an error (python, javascript) or an empty line (bash), never another context's value.
      if (/^\d+$/.test(out)) fail(`read v in ${c.lang} ${id}: ${out}, never set there`)
      return
    }
    if (out !== String(c.v)) fail(`read v in ${c.lang} ${id}: '${out}', set to ${c.v}; frames ${a.text.slice(0, 300)}`)
  }
  toString = () => `read v in context #${this.k}`
}

export class DeleteContext implements fc.AsyncCommand<Model, Real> {
  constructor(readonly k: number) {}
  check = (m: Readonly<Model>) => pickContext(m, this.k, false) !== undefined
  async run(m: Model, r: Real) {
    const id = pickContext(m, this.k, false)!
    const a = await json(r, `/code/contexts/${q(id)}`, { method: 'DELETE' })
    if (a.status !== 200) fail(`delete context ${id}: ${a.status} ${a.text}`)
    m.contexts.delete(id)
    m.deletedContexts.push(id)
  }
  toString = () => `delete context #${this.k}`
}

/** The list of contexts: exactly the model's (the model's daemon makes no default contexts of these). */
export class ListContexts implements fc.AsyncCommand<Model, Real> {
  check = () => true
  async run(m: Model, r: Real) {
    const a = await json(r, '/code/contexts')
    if (a.status !== 200) fail(`list contexts: ${a.status} ${a.text}`)
    const got = (a.body as { id: string }[]).map(c => c.id).sort()
    const want = [...m.contexts.keys()].sort()
    if (JSON.stringify(got) !== JSON.stringify(want))
      fail(`contexts listed ${JSON.stringify(got)}, model ${JSON.stringify(want)}`)
    for (const id of m.deletedContexts) {
      const g = await json(r, `/code/contexts/${q(id)}`)
      if (g.status !== 404) fail(`deleted context ${id}: GET answered ${g.status}`)
    }
  }
  toString = () => 'list contexts'
}

// ---- sessions ----

const pickSession = (m: Readonly<Model>, k: number, gone: boolean): string | undefined => {
  const ids = gone ? m.deletedSessions : [...m.sessions.keys()]
  return ids.length ? ids[k % ids.length] : undefined
}

export class NewSession implements fc.AsyncCommand<Model, Real> {
  check = (m: Readonly<Model>) => m.sessions.size < 3
  async run(m: Model, r: Real) {
    const a = await post(r, '/session', {})
    const id = a.body?.session_id
    if (a.status !== 200 || typeof id !== 'string') fail(`new session: ${a.status} ${a.text}`)
    m.sessions.set(id, {})
  }
  toString = () => 'new session'
}

export class SessionRun implements fc.AsyncCommand<Model, Real> {
  constructor(
    readonly k: number,
    readonly v: number | null,
    readonly gone: boolean,
  ) {}
  check = (m: Readonly<Model>) => pickSession(m, this.k, this.gone) !== undefined
  async run(m: Model, r: Real) {
    const id = pickSession(m, this.k, this.gone)!
    const s = m.sessions.get(id)
    const command = this.v === null ? 'echo "v=$v"' : `v=${this.v}`
    const a = await frames(r, `/session/${q(id)}/run`, { command })
    if (!s) return void (a.status === 404 || fail(`run in deleted session: ${a.status} ${a.text.slice(0, 200)}`))
    if (a.status !== 200 || terminal(a.frames) !== 1)
      fail(`session run '${command}': ${a.status} ${a.text.slice(0, 300)}`)
    if (this.v !== null) return void (s.v = this.v)
    const out = stdoutOf(a.frames)
    if (out !== `v=${s.v ?? ''}`) fail(`session echo: '${out}', model v=${s.v ?? ''}`)
  }
  toString = () => `session #${this.k}${this.gone ? ' (deleted)' : ''} ${this.v === null ? 'echo v' : `v=${this.v}`}`
}

export class DeleteSession implements fc.AsyncCommand<Model, Real> {
  constructor(readonly k: number) {}
  check = (m: Readonly<Model>) => pickSession(m, this.k, false) !== undefined
  async run(m: Model, r: Real) {
    const id = pickSession(m, this.k, false)!
    const a = await json(r, `/session/${q(id)}`, { method: 'DELETE' })
    if (a.status !== 200) fail(`delete session: ${a.status} ${a.text}`)
    m.sessions.delete(id)
    m.deletedSessions.push(id)
  }
  toString = () => `delete session #${this.k}`
}
