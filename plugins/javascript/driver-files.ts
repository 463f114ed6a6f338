/**
 * Puts the embedded driver and the happy-dom bundle on disk for the child interpreter, once
 * per execd process, in a private temp dir (mkdtemp: 0700, a fresh name nobody can pre-plant).
 */
import { existsSync, rmSync } from 'node:fs'
import { mkdtemp, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { driverSources, happyDomBundle } from './embed.ts' with { type: 'macro' }

const SOURCES: Record<string, string> = driverSources()
const HAPPY_DOM: string = happyDomBundle()

interface DriverFiles {
  driver: string
  dom: string
}

let written: Promise<DriverFiles> | undefined

/** Chained so concurrent starts share one dir; a failed or swept dir is written again. */
export function driverFiles(): Promise<DriverFiles> {
  const previous = written
  written = (async () => {
    const f = await previous?.catch(() => undefined)
    // A temp cleaner may sweep the dir while execd runs for days.
    return f && existsSync(f.driver) && existsSync(f.dom) ? f : writeAll()
  })()
  return written
}

async function writeAll(): Promise<DriverFiles> {
  const dir = await mkdtemp(join(tmpdir(), 'execd-js-'))
  for (const [name, text] of Object.entries(SOURCES)) await writeFile(join(dir, name), text)
  const dom = join(dir, 'happy-dom.js')
  await writeFile(dom, HAPPY_DOM)
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }))
  return { driver: join(dir, 'driver.ts'), dom }
}

/** Removes the dir now (tests; `bun test` does not emit 'exit'); the next start writes it again. */
export async function removeDriverFiles(): Promise<void> {
  const f = await written?.catch(() => undefined)
  if (f) rmSync(dirname(f.driver), { recursive: true, force: true })
}
