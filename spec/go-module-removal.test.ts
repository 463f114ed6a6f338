/**
 * A go context's module directory, which its cells can fill, is removed off the event loop when
 * the context is deleted: rmSync walked it on the loop (30,000 files: 0.9 s), and every request
 * waited. A `/ping` sent once the removal began must answer before the DELETE that made it. The
 * same for a tree a cell left at go.mod's name, which the next cell takes away.
 */
import { expect, test } from 'bun:test'
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { findGo } from '../plugins/go/toolchain'
import { postJson, readSse, waitFor } from './harness'
import { daemonAlone } from './kit/daemon-dir'

const toolchain = await findGo(process.env.EXECD_GO || 'go')
const FILES = 30_000

const fx = daemonAlone()

test.skipIf('missing' in toolchain)(
  `deleting a go context whose module holds ${FILES} files: /ping answers while they go`,
  async () => {
    const made = await postJson(fx.d, '/code/context', { language: 'go' })
    expect(made.status).toBe(200)
    const { id } = (await made.json()) as { id: string }
    // A cell made the module (it is made with the context; a cell compiles in it).
    const events = (await readSse(await postJson(fx.d, '/code', { code: 'fmt.Println(1)', context: { id } }))).map(
      f => f.data,
    )
    expect(events.find(e => e.type === 'stdout')?.text).toBe('1\n')
    const modules = readdirSync(tmpdir()).filter(n => n.startsWith(`execd-go-${fx.d.proc.pid}-`))
    expect(modules).toHaveLength(1)
    const module = join(tmpdir(), modules[0]!)
    // What a cell could write there too (its source's directory is the module).
    for (let i = 0; i < FILES; i++) writeFileSync(join(module, `f${i}`), '')

    // The removal walks the directory in its own order: the first names it lists go first.
    const first = readdirSync(module).slice(0, 100)
    let deleted = false
    const deleting = fx.d.fetch(`/code/contexts/${id}`, { method: 'DELETE' }).then(r => ((deleted = true), r))
    while (first.every(n => existsSync(join(module, n)))) await Bun.sleep(2)
    // The removal is under way (main's build: rmSync on the loop, until the last file).
    const ping = await fx.d.fetch('/ping')
    expect(ping.status).toBe(200)
    expect(deleted).toBe(false)
    expect((await deleting).status).toBe(200)
    expect(existsSync(module)).toBe(false)
  },
  120_000,
)

/** Names of what execd set aside from go.mod's name and has not removed yet. */
function setAside(): string[] {
  return readdirSync(tmpdir())
    .filter(n => n.startsWith(`execd-go-aside-${fx.d.proc.pid}-`))
    .flatMap(n => {
      try {
        return readdirSync(join(tmpdir(), n, 'go.mod'))
      } catch {
        return [] // removed meanwhile
      }
    })
}

test.skipIf('missing' in toolchain)(
  `a tree of ${FILES} files a cell left at go.mod's name: /ping answers while the next cell takes it away`,
  async () => {
    const made = await postJson(fx.d, '/code/context', { language: 'go' })
    expect(made.status).toBe(200)
    const { id } = (await made.json()) as { id: string }
    const run = async (code: string) =>
      (await readSse(await postJson(fx.d, '/code', { code, context: { id } }))).map(f => f.data)
    expect((await run('fmt.Println(1)')).find(e => e.type === 'stdout')?.text).toBe('1\n')
    const modules = readdirSync(tmpdir()).filter(n => n.startsWith(`execd-go-${fx.d.proc.pid}-`))
    expect(modules).toHaveLength(1)
    // What a cell could leave there (os.Remove, os.Mkdir, files under it): made here, quicker.
    const goMod = join(tmpdir(), modules[0]!, 'go.mod')
    rmSync(goMod)
    mkdirSync(goMod)
    for (let i = 0; i < FILES; i++) writeFileSync(join(goMod, `f${i}`), '')
    const first = readdirSync(goMod).slice(0, 100)

    const next = run('6 * 7')
    while (first.every(n => existsSync(join(goMod, n)))) await Bun.sleep(2)
    // Taken away from its name (main's build: rmSync on the loop, until the last file).
    expect((await fx.d.fetch('/ping')).status).toBe(200)
    // Answered while they were still being removed, set aside.
    expect(setAside().length).toBeGreaterThan(0)
    const events = await next
    expect(events.find(e => e.type === 'error')).toBeUndefined()
    expect(events.find(e => e.type === 'execute_result' || e.type === 'result')?.results?.['text/plain']).toBe('42')
    await waitFor('the tree set aside removed', () => setAside().length === 0, 30_000)
    expect((await fx.d.fetch(`/code/contexts/${id}`, { method: 'DELETE' })).status).toBe(200)
    expect(readdirSync(tmpdir()).filter(n => n.startsWith(`execd-go-aside-${fx.d.proc.pid}-`))).toEqual([])
  },
  120_000,
)
