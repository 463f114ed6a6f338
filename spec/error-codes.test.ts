/**
 * The error codes execd can answer, docs/contract.md's list and the OpenAPI's `Error.code` agree:
 * the contract's list had lacked the 403 FORBIDDEN it described further down, and six more.
 */
import { expect, test } from 'bun:test'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { statusOf, WIRE_CODES } from '../core/errors'

const root = join(import.meta.dir, '..')
const read = (path: string) => readFileSync(join(root, path), 'utf8')

/** `CODE` 400 pairs, and `A` / `B` / `C` 400 runs, from the contract's "Errors" paragraph. */
function contractCodes(): Record<string, number> {
  const contract = read('docs/contract.md')
  const start = contract.indexOf('- **Errors**')
  const paragraph = contract.slice(start, contract.indexOf('\n- ', start + 1)).replace(/\s+/g, ' ')
  const out: Record<string, number> = {}
  for (const [, run, status] of paragraph.matchAll(/((?:`[A-Z_]+`(?: \/ )?)+) (\d{3})\b/g))
    for (const [, code] of run!.matchAll(/`([A-Z_]+)`/g)) out[code!] = Number(status)
  return out
}

test("the contract's list names every code execd answers, with its status, and no other", () => {
  const expected = Object.fromEntries(WIRE_CODES.map(code => [code, statusOf(code)]))
  expect(contractCodes()).toEqual(expected)
})

test("the OpenAPI's Error.code lists the same codes", () => {
  const doc = JSON.parse(read('spec/openapi.json'))
  expect(doc.components.schemas.Error.properties.code.enum).toEqual([...WIRE_CODES])
  // A route with response schemas repeats the same list.
  const info = doc.paths['/files/info'].get.responses['404'].content['application/json'].schema
  expect(info.properties.code.enum).toEqual([...WIRE_CODES])
})

test('every listed code is answered somewhere in the source', () => {
  const glob = new Bun.Glob('{core,plugins}/**/*.ts')
  const sources = [...glob.scanSync(root)]
    .filter(path => !path.endsWith('.test.ts') && path !== join('core', 'errors.ts'))
    .map(read)
    .join('\n')
  for (const code of WIRE_CODES) expect([code, sources.includes(`'${code}'`)]).toEqual([code, true])
})
