/**
 * A go context's module directory, which its cells can fill, is removed off the event loop when
 * the context is deleted: rmSync walked it on the loop (30,000 files: 0.9 s), and every request
 * waited. A `/ping` sent once the removal began must answer before the DELETE that made it.
 */
import { expect, test } from 'bun:test'
import { existsSync, readdirSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { findGo } from '../plugins/go/toolchain'
import { postJson, readSse } from './harness'
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
