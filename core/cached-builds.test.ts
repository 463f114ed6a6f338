import { expect, test } from 'bun:test'
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { randomHex } from './random'
import { buildInCache, CachedBuilds } from './cached-builds'
import { userCacheDir } from './temp-dir'

test('one build per key; uses at the same time, a rebuild of a gone output included, share one', async () => {
  let there = true
  let builds = 0
  const memo = new CachedBuilds<number>(() => there)
  const build = async () => ++builds
  expect(await Promise.all([memo.get('k', build), memo.get('k', build)])).toEqual([1, 1])
  expect(await memo.get('k', build)).toBe(1)
  there = false
  const again = await Promise.all([memo.get('k', build), memo.get('k', build), memo.get('k', build)])
  // The copies in go/toolchain.ts and java/jdk.ts started one rebuild per use that found the output gone.
  expect([builds, ...again]).toEqual([2, 2, 2, 2])
  expect(await memo.get('other', build)).toBe(3)
})

test('a failed build is forgotten: the next use builds again', async () => {
  let fail = true
  const memo = new CachedBuilds<string>(() => true)
  const build = async () => {
    if (fail) throw new Error('no compiler')
    return 'made'
  }
  await expect(memo.get('k', build)).rejects.toThrow('no compiler')
  fail = false
  expect(await memo.get('k', build)).toBe('made')
})

test('buildInCache makes the dir whole once, and leaves no work dir behind', async () => {
  const name = `cached-builds-test-${randomHex(6)}`
  let made = 0
  const make = async (_work: string, out: string) => {
    made++
    mkdirSync(out)
    writeFileSync(join(out, 'done'), 'yes')
  }
  try {
    const dir = await buildInCache({ name, work: 'cached-builds-test-work', marker: 'done' }, make)
    expect(dir).toBe(join(userCacheDir(), name))
    expect(await buildInCache({ name, work: 'cached-builds-test-work', marker: 'done' }, make)).toBe(dir)
    expect([made, readFileSync(join(dir, 'done'), 'utf8')]).toEqual([1, 'yes'])
    expect(readdirSync(userCacheDir()).filter(f => f.startsWith('cached-builds-test-work'))).toEqual([])
  } finally {
    rmSync(join(userCacheDir(), name), { recursive: true, force: true })
  }
})

test('buildInCache takes the output of another execd whose rename won', async () => {
  const name = `cached-builds-test-${randomHex(6)}`
  const dir = join(userCacheDir(), name)
  try {
    const got = await buildInCache({ name, work: 'cached-builds-test-work', marker: 'done' }, async (_work, out) => {
      mkdirSync(out)
      writeFileSync(join(out, 'done'), 'ours')
      // Theirs lands first, whole and not empty: our rename cannot replace it.
      mkdirSync(dir)
      writeFileSync(join(dir, 'done'), 'theirs')
    })
    expect([got, readFileSync(join(dir, 'done'), 'utf8')]).toEqual([dir, 'theirs'])
    expect(existsSync(join(dir, 'out'))).toBe(false)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})
