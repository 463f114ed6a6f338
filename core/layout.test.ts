/** The layout rules of STYLE.md, checked: core never imports plugins or cmd; plugins never import cmd. */
import { expect, test } from 'bun:test'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'

const top = join(import.meta.dir, '..')
const importsOf = (file: string) =>
  [...readFileSync(join(top, file), 'utf8').matchAll(/(?:from|import)\s*\(?\s*'([^']+)'/g)].map(m => m[1])
const filesIn = (dir: string) => [...new Bun.Glob(`${dir}/**/*.ts`).scanSync({ cwd: top })]

test('core/ imports neither plugins/ nor cmd/', () => {
  const offending = filesIn('core').flatMap(f =>
    importsOf(f)
      .filter(i => /(^|\/)(plugins|cmd)(\/|$)/.test(i))
      .map(i => `${f} → ${i}`),
  )
  expect(offending).toEqual([])
})

test('plugins/ never import cmd/', () => {
  const offending = filesIn('plugins').flatMap(f =>
    importsOf(f)
      .filter(i => /(^|\/)cmd(\/|$)/.test(i))
      .map(i => `${f} → ${i}`),
  )
  expect(offending).toEqual([])
})
