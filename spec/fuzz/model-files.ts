/** The model-based fuzz's file steps (model.ts): write, read, stat, list, delete, move. */
import fc from 'fast-check'
import { fail, json, LIMIT_MS, type Model, type Name, post, q, type Real } from './model-kit'

export class Write implements fc.AsyncCommand<Model, Real> {
  constructor(
    readonly name: Name,
    readonly bytes: Uint8Array,
  ) {}
  check = () => true
  async run(m: Model, r: Real) {
    const form = new FormData()
    form.append('metadata', new Blob([JSON.stringify({ path: `${r.dir}/${this.name}` })]), 'metadata')
    form.append('file', new Blob([Buffer.from(this.bytes)]), 'f')
    const res = await r.d.fetch('/files/upload', { method: 'POST', body: form, signal: AbortSignal.timeout(LIMIT_MS) })
    const text = await res.text()
    if (res.status !== 200) fail(`upload ${this.name}: ${res.status} ${text.slice(0, 200)}`)
    m.files.set(this.name, this.bytes)
  }
  toString = () => `write ${this.name} (${this.bytes.length} bytes)`
}

export class Read implements fc.AsyncCommand<Model, Real> {
  constructor(readonly name: Name) {}
  check = () => true
  async run(m: Model, r: Real) {
    const path = `${r.dir}/${this.name}`
    const res = await r.d.fetch(`/files/download?path=${q(path)}`, { signal: AbortSignal.timeout(LIMIT_MS) })
    const got = new Uint8Array(await res.arrayBuffer())
    const want = m.files.get(this.name)
    if (!want)
      return void (res.status === 404 || fail(`download of ${this.name}, never written or deleted: ${res.status}`))
    if (res.status !== 200) fail(`download ${this.name}: ${res.status}`)
    if (res.headers.get('content-length') !== String(want.length))
      fail(`download ${this.name}: Content-Length ${res.headers.get('content-length')}, wrote ${want.length}`)
    if (Buffer.compare(Buffer.from(got), Buffer.from(want)) !== 0)
      fail(`download ${this.name}: ${got.length} bytes unlike the ${want.length} written`)
  }
  toString = () => `read ${this.name}`
}

export class Stat implements fc.AsyncCommand<Model, Real> {
  constructor(readonly name: Name) {}
  check = () => true
  async run(m: Model, r: Real) {
    const path = `${r.dir}/${this.name}`
    const a = await json(r, `/files/info?path=${q(path)}`)
    const want = m.files.get(this.name)
    if (!want)
      return void (a.status === 404 || fail(`info of ${this.name}, absent: ${a.status} ${a.text.slice(0, 200)}`))
    if (a.status !== 200) fail(`info ${this.name}: ${a.status} ${a.text.slice(0, 200)}`)
    const info = a.body?.[path]
    if (info?.size !== want.length) fail(`info ${this.name}: size ${info?.size}, wrote ${want.length}`)
  }
  toString = () => `stat ${this.name}`
}

/** The search of everything under the model's dir, and the listing: exactly the model's files. */
export class List implements fc.AsyncCommand<Model, Real> {
  check = () => true
  async run(m: Model, r: Real) {
    const want = [...m.files.keys()].map(n => `${r.dir}/${n}`).sort()
    const s = await json(r, `/files/search?path=${q(r.dir)}&pattern=${q('**')}`)
    if (s.status !== 200) fail(`search: ${s.status} ${s.text.slice(0, 200)}`)
    const found = (s.body as { path: string; size: number }[]).map(f => f.path).sort()
    if (JSON.stringify(found) !== JSON.stringify(want))
      fail(`search found ${JSON.stringify(found)}, model ${JSON.stringify(want)}`)
    for (const f of s.body as { path: string; size: number }[]) {
      const n = f.path.slice(r.dir.length + 1) as Name
      if (f.size !== m.files.get(n)?.length) fail(`search: ${n} size ${f.size}, wrote ${m.files.get(n)?.length}`)
    }
    const l = await json(r, `/directories/list?path=${q(r.dir)}&depth=3`)
    if (l.status !== 200) fail(`list: ${l.status} ${l.text.slice(0, 200)}`)
    const files = (l.body as { path: string; type: string }[])
      .filter(e => e.type === 'file')
      .map(e => e.path)
      .sort()
    if (JSON.stringify(files) !== JSON.stringify(want))
      fail(`list gave ${JSON.stringify(files)}, model ${JSON.stringify(want)}`)
  }
  toString = () => 'list'
}

export class Remove implements fc.AsyncCommand<Model, Real> {
  constructor(readonly name: Name) {}
  check = () => true
  async run(m: Model, r: Real) {
    const a = await json(r, `/files?path=${q(`${r.dir}/${this.name}`)}`, { method: 'DELETE' })
    // A missing file is skipped (the reference's: idempotent).
    if (a.status !== 200) fail(`delete ${this.name}: ${a.status} ${a.text.slice(0, 200)}`)
    m.files.delete(this.name)
  }
  toString = () => `delete ${this.name}`
}

export class Move implements fc.AsyncCommand<Model, Real> {
  constructor(
    readonly from: Name,
    readonly to: Name,
  ) {}
  check = () => true
  async run(m: Model, r: Real) {
    const a = await post(r, '/files/mv', [{ src: `${r.dir}/${this.from}`, dest: `${r.dir}/${this.to}` }])
    const src = m.files.get(this.from)
    // Onto itself: refused (400) when the source is there; a missing one is the missing source
    // (404), its stat first as the reference's (spec/files-hardening.test.ts).
    if (this.from === this.to)
      return void (
        (a.status === (src ? 400 : 404) && a.body?.code) ||
        fail(`mv ${this.from} onto itself: ${a.status} ${a.text}`)
      )
    if (!src) return void (a.status === 404 || fail(`mv of absent ${this.from}: ${a.status} ${a.text.slice(0, 200)}`))
    if (m.files.has(this.to)) {
      // An existing destination is refused and both stay as they were.
      if (a.status < 400) fail(`mv onto existing ${this.to}: ${a.status}`)
      if (a.body?.code === undefined)
        fail(`mv onto existing ${this.to}: ${a.status} without {code, message}: ${a.text}`)
      return
    }
    if (a.status !== 200) fail(`mv ${this.from} → ${this.to}: ${a.status} ${a.text.slice(0, 200)}`)
    m.files.delete(this.from)
    m.files.set(this.to, src)
  }
  toString = () => `mv ${this.from} ${this.to}`
}
