import { describe, expect, test } from 'bun:test'
import { camelCase, flagsByName, resolveConfig, type OptionSpec } from './config'
import { createLogger, parseLogLevel } from './log'

const specs: OptionSpec[] = [
  { flag: 'port', env: 'EXECD_PORT', description: '', default: '44772' },
  { flag: 'access-token', env: 'EXECD_ACCESS_TOKEN', description: '', secret: true },
]

describe('config', () => {
  test('a flag wins over the environment, which wins over the default', () => {
    expect(resolveConfig(specs, {}, {}).int('port')).toBe(44772)
    expect(resolveConfig(specs, {}, { EXECD_PORT: '1' }).int('port')).toBe(1)
    expect(resolveConfig(specs, { port: 2 }, { EXECD_PORT: '1' }).int('port')).toBe(2)
  })

  test('camelCase: as cac names an option (a dash before a-z goes, the letter is upper-cased)', () => {
    expect(camelCase('max-json-bytes')).toBe('maxJsonBytes')
    expect(camelCase('port')).toBe('port')
    expect(camelCase('a-1-b')).toBe('a-1B')
    expect(camelCase('trailing-')).toBe('trailing-')
  })

  test('cac camelCase keys are understood', () => {
    expect(resolveConfig(specs, { accessToken: 'x' }, {}).get('access-token')).toBe('x')
  })

  test("flagsByName: each flag under its option's name, the name as typed before cac's form, unset ones left out", () => {
    expect(flagsByName({ maxJsonBytes: 1, port: '2', '--': [] })).toEqual({ 'max-json-bytes': 1, port: '2', '--': [] })
    expect(flagsByName({ accessToken: 'camel', 'access-token': 'typed' })).toEqual({ 'access-token': 'typed' })
    expect(flagsByName({ 'access-token': 'typed', accessToken: 'camel' })).toEqual({ 'access-token': 'typed' })
    expect(flagsByName({ 'access-token': undefined, accessToken: 'camel', host: null })).toEqual({
      'access-token': 'camel',
    })
    // The inverse of camelCase for every name it makes.
    for (const name of ['max-json-bytes', 'port', 'a-1-b', 'trailing-', 'python-spare'])
      expect(Object.keys(flagsByName({ [camelCase(name)]: 1 }))).toEqual([name])
  })

  test('a bad number names the flag', () => {
    expect(() => resolveConfig(specs, { port: 'abc' }, {}).int('port')).toThrow('--port')
  })

  test('a least value refuses what is below it but 0, which turns the thing off', () => {
    const int = (v: string) => resolveConfig(specs, { port: v }, {}).int('port', undefined, 100, 10)
    expect(int('0')).toBe(0)
    expect(int('10')).toBe(10)
    expect(() => int('9')).toThrow("option --port (EXECD_PORT) must be 0 or at least 10, got '9'")
    expect(() => int('101')).toThrow('must be at most 100')
  })

  test('secrets are never shown in the loggable view', () => {
    expect(resolveConfig(specs, { accessToken: 'hunter2' }, {}).redacted()).toEqual({
      port: '44772',
      'access-token': 'set',
    })
  })
})

describe('log', () => {
  test('names and the reference numeric levels are accepted', () => {
    expect(parseLogLevel('debug')).toBe('debug')
    expect(parseLogLevel('7')).toBe('debug')
    expect(parseLogLevel('6')).toBe('info')
    expect(parseLogLevel('4')).toBe('warn')
    expect(parseLogLevel('2')).toBe('error')
    expect(() => parseLogLevel('loud')).toThrow()
  })

  test('lines are JSON with level, ts and msg; lower levels are dropped', () => {
    const lines: string[] = []
    const log = createLogger('info', { svc: 'x' }, l => lines.push(l))
    log.debug('hidden')
    log.info('shown', { n: 1 })
    expect(lines).toHaveLength(1)
    expect(JSON.parse(lines[0] ?? '')).toMatchObject({ level: 'info', msg: 'shown', svc: 'x', n: 1 })
  })
})
