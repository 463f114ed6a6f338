/** The environment `go build` gets: offline, the shared cache, and cgo off where it cannot work. */
import { expect, test } from 'bun:test'
import { goBuildEnv } from './toolchain'

test('go build runs offline with the shared build cache', () => {
  const env = goBuildEnv({ PATH: process.env.PATH ?? '', HOME: '/home/user' })
  expect(env).toEqual(expect.arrayContaining(['GOPROXY=off', 'GOSUMDB=off', 'GOTOOLCHAIN=local', 'GOFLAGS=-mod=mod']))
  expect(env.find(kv => kv.startsWith('GOCACHE='))).toMatch(/execd-.*\/go-cache$/)
  expect(env.some(kv => kv.startsWith('GOPATH='))).toBe(false)
})

test('without a C compiler on the PATH cgo is off, unless the context says otherwise', () => {
  expect(goBuildEnv({ PATH: '/nonexistent' })).toContain('CGO_ENABLED=0')
  expect(goBuildEnv({ PATH: '/nonexistent', CGO_ENABLED: '1' })).not.toContain('CGO_ENABLED=0')
})

test('a context with neither HOME nor GOPATH gets a module cache of its own', () => {
  expect(goBuildEnv({ PATH: '/nonexistent' }).find(kv => kv.startsWith('GOPATH='))).toMatch(/execd-.*\/go-path$/)
})

test('builds leave their dir out of the cache keys from go 1.20, where the standard library is built into the cache anyway', () => {
  const flags = (language: string) =>
    goBuildEnv({ PATH: '/nonexistent' }, { language }).find(kv => kv.startsWith('GOFLAGS='))
  expect(flags('1.19')).toBe('GOFLAGS=-mod=mod')
  expect(flags('1.20')).toBe('GOFLAGS=-mod=mod -trimpath')
  expect(flags('1.22')).toBe('GOFLAGS=-mod=mod -trimpath')
})
