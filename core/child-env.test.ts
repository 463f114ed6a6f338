import { describe, expect, test } from 'bun:test'
import { childEnv, isWithheld, keepChildEnv, withholdFromChildren } from './child-env'
import { Config, SERVER_OPTIONS } from './config'

describe('childEnv', () => {
  test("the server's secret options are withheld from every child", () => {
    expect(SERVER_OPTIONS.length).toBeGreaterThan(0)
    expect(isWithheld('EXECD_ACCESS_TOKEN')).toBe(true)
    expect(isWithheld('EXECD_PORT')).toBe(false)
    const env = childEnv({}, { EXECD_ACCESS_TOKEN: 't', PATH: '/bin', GONE: undefined })
    expect(env).toEqual({ PATH: '/bin' })
  })

  test("Bun's command line for execd (BUN_OPTIONS) is withheld; Bun's other variables are not", () => {
    const env = childEnv({}, { BUN_OPTIONS: '--smol', BUN_JSC_useJIT: '0', BUN_RUNTIME_TRANSPILER_CACHE_PATH: '0' })
    expect(env).toEqual({ BUN_JSC_useJIT: '0', BUN_RUNTIME_TRANSPILER_CACHE_PATH: '0' })
    expect(childEnv({ BUN_OPTIONS: '--smol' }, {})).toEqual({ BUN_OPTIONS: '--smol' })
  })

  test('a Config declares its secret options (a section or runtime option too: --jupyter-token, --sql-dsn)', () => {
    new Config({}, [{ flag: 'child-env-test-dsn', env: 'CHILD_ENV_TEST_DSN', description: 'x', secret: true }])
    expect(childEnv({}, { CHILD_ENV_TEST_DSN: 'postgres://u:p@h', HOME: '/h' })).toEqual({ HOME: '/h' })
  })

  test("what the caller adds goes on top of execd's environment", () => {
    withholdFromChildren(['CHILD_ENV_TEST_SECRET'])
    expect(childEnv({ TERM: 'xterm-256color', A: '2' }, { A: '1', B: 'b', CHILD_ENV_TEST_SECRET: 's' })).toEqual({
      A: '2',
      B: 'b',
      TERM: 'xterm-256color',
    })
  })

  test("defaults to execd's own environment", () => {
    expect(childEnv().PATH).toBe(process.env.PATH!)
  })

  test('kept (serve, after its start): each child gets its own copy of the environment as it was, less what is withheld later', () => {
    process.env.CHILD_ENV_TEST_KEPT = 'before'
    process.env.CHILD_ENV_TEST_LATE_SECRET = 'x'
    try {
      keepChildEnv()
      process.env.CHILD_ENV_TEST_KEPT = 'after'
      process.env.CHILD_ENV_TEST_NEW = 'new'
      const a = childEnv({ CHILD_ENV_TEST_EXTRA: 'e' })
      expect(a.CHILD_ENV_TEST_KEPT).toBe('before')
      expect(a.CHILD_ENV_TEST_NEW).toBeUndefined()
      expect(a.CHILD_ENV_TEST_EXTRA).toBe('e')
      a.PATH = 'changed by one child'
      expect(childEnv().PATH).toBe(process.env.PATH!)
      expect(childEnv().CHILD_ENV_TEST_EXTRA).toBeUndefined()
      expect(childEnv().CHILD_ENV_TEST_LATE_SECRET).toBe('x')
      withholdFromChildren(['CHILD_ENV_TEST_LATE_SECRET'])
      expect(childEnv().CHILD_ENV_TEST_LATE_SECRET).toBeUndefined()
      // Another environment given is read as it is.
      expect(childEnv({}, { A: '1' })).toEqual({ A: '1' })
      keepChildEnv(false)
      expect(childEnv().CHILD_ENV_TEST_KEPT).toBe('after')
    } finally {
      keepChildEnv(false)
      for (const k of ['CHILD_ENV_TEST_KEPT', 'CHILD_ENV_TEST_NEW', 'CHILD_ENV_TEST_LATE_SECRET']) delete process.env[k]
    }
  })
})
