/** The options the CLI reads apart from the plugins (plugins/options.ts) are the plugins' own, in list order. */
import { expect, test } from 'bun:test'
import { plugins, runtimes } from '.'
import { runtimeOptions, sectionOptions } from './options'

test("every section's options, in the order of the section list", () => {
  expect(Object.keys(sectionOptions)).toEqual(plugins.map(p => p.name))
  for (const p of plugins) expect([p.name, sectionOptions[p.name]]).toEqual([p.name, [...(p.options ?? [])]])
})

test("every runtime's options, in the order of the runtime list", () => {
  expect(Object.keys(runtimeOptions)).toEqual(runtimes.map(r => r.name))
  for (const r of runtimes) expect([r.name, runtimeOptions[r.name]]).toEqual([r.name, [...(r.options ?? [])]])
})
