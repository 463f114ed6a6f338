/** Which runtime serves a language: native first, the Jupyter bridge as fallback or by choice. */
import { describe, expect, test } from 'bun:test'
import { resolveConfig } from '../../core/config'
import type { LanguageInfo, Runtime } from '../../core/plugin'
import { LanguageCatalog } from './languages'

const config = resolveConfig([], {})
const runtime = (name: string, languages: LanguageInfo[]): Runtime => ({
  name,
  languages: async () => languages,
  start: async () => {
    throw new Error('not started in these tests')
  },
})

const python = runtime('python', [{ language: 'python', available: true }])
const brokenJava = runtime('java', [{ language: 'java', available: false, detail: 'no jshell' }])
const jupyter = runtime('jupyter', [
  { language: 'python', available: true },
  { language: 'r', available: true },
  { language: 'java', available: true },
])

describe('LanguageCatalog', () => {
  test('a native runtime serves its language; the bridge serves what no native runtime can', async () => {
    const catalog = new LanguageCatalog([jupyter, python, brokenJava], config, false)
    expect((await catalog.resolve('python')).name).toBe('python')
    expect((await catalog.resolve('r')).name).toBe('jupyter')
    expect((await catalog.resolve('java')).name).toBe('jupyter')
  })

  test('--prefer-jupyter puts the bridge first', async () => {
    const catalog = new LanguageCatalog([python, jupyter], config, true)
    expect((await catalog.resolve('python')).name).toBe('jupyter')
  })

  test('an unknown language is a 400 naming the available ones; an unavailable one says why', async () => {
    const catalog = new LanguageCatalog([python, brokenJava], config, false)
    await expect(catalog.resolve('cobol')).rejects.toThrow("unknown language 'cobol'; available languages: python")
    await expect(catalog.resolve('java')).rejects.toThrow("language 'java' is not available here (no jshell)")
  })

  test('a near miss of an available language says which was meant; a long word is not compared, and is cut', async () => {
    const catalog = new LanguageCatalog([python, brokenJava], config, false)
    await expect(catalog.resolve('pyhton')).rejects.toThrow(
      "unknown language 'pyhton' (did you mean python?); available languages: python",
    )
    // Not offered here: no guess of a language that would be refused too.
    await expect(catalog.resolve('jvaa')).rejects.toThrow("unknown language 'jvaa'; available languages: python")
    const long = 'p' + 'y'.repeat(100_000)
    // Cut in the message too: a client's word may be as large as a body.
    await expect(catalog.resolve(long)).rejects.toThrow(
      `unknown language '${long.slice(0, 64)}…'; available languages: python`,
    )
  })

  test('a runtime whose probe throws offers nothing and breaks no other language', async () => {
    const failing: Runtime = { ...python, name: 'bad', languages: async () => Promise.reject(new Error('boom')) }
    const catalog = new LanguageCatalog([failing, python], config, false)
    expect((await catalog.list()).map(l => `${l.language}:${l.runtime}`)).toEqual(['python:python'])
  })

  test("a probe refused a process is the limit's 503, is asked again, and its error is not listed", async () => {
    const refused = Object.assign(new Error('posix_spawn failed'), {
      code: 'EAGAIN',
      syscall: 'spawn /usr/bin/python3',
    })
    let probes = 0
    const flaky: Runtime = {
      ...python,
      languages: async () =>
        ++probes <= 2
          ? [{ language: 'python', available: false, detail: 'no words of it', error: refused }]
          : [{ language: 'python', available: true }],
    }
    const catalog = new LanguageCatalog([flaky], config, false)
    await expect(catalog.resolve('python')).rejects.toMatchObject({ code: 'SERVICE_UNAVAILABLE' })
    const listed = await catalog.list()
    expect(listed).toEqual([{ language: 'python', available: false, detail: 'no words of it', runtime: 'python' }])
    expect((await catalog.resolve('python')).name).toBe('python')
  })
})

describe('a runtime slower than the listing waits for', () => {
  // Slow on its first probe only, as an interpreter started on a loaded machine.
  const slow = (ms: number): Runtime => {
    let probes = 0
    return {
      ...python,
      languages: () => Bun.sleep(probes++ ? 0 : ms).then(() => [{ language: 'python', available: true }]),
    }
  }

  test('a language it offers is waited for, not refused as unknown, and the short list is not kept', async () => {
    const catalog = new LanguageCatalog([slow(300), brokenJava], config, false, 50)
    expect((await catalog.list()).map(l => l.language)).toEqual(['java'])
    expect((await catalog.resolve('python')).name).toBe('python')
    expect((await catalog.list()).map(l => l.language)).toEqual(['java', 'python'])
  })

  test('a language no runtime offers is refused once the slow one has answered', async () => {
    const catalog = new LanguageCatalog([slow(100)], config, false, 20)
    await expect(catalog.resolve('cobol')).rejects.toThrow("unknown language 'cobol'; available languages: python")
  })
})
