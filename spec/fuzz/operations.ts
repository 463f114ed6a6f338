/**
 * Every operation of the daemon's `/openapi.json`, each with a generator of hostile requests:
 * bodies derived from the operation's schema and then mutated, hostile query and path
 * parameters, and odd headers. Fields that run something only ever get allowlisted commands.
 */
import fc from 'fast-check'
import { body } from './bodies'
import type { HttpCase, RawFraming, TokenForm } from './cases'
import { idRef, languages, pathBase64Ref, pathRef } from './fields'
import { hostileString, type J, Text } from './values'
import type { Kind } from './world'

export interface Op {
  key: string
  method: string
  route: string
  params: { in: string; name: string; array: boolean }[]
  /** The JSON body schema, when the operation takes one. */
  schema: any | null
  multipartOnly: boolean
}

export function operations(doc: any): Op[] {
  const ops: Op[] = []
  for (const [route, item] of Object.entries<any>(doc.paths))
    for (const [method, op] of Object.entries<any>(item)) {
      if (!['get', 'post', 'put', 'patch', 'delete', 'head'].includes(method)) continue
      const content = op.requestBody?.content ?? {}
      ops.push({
        key: `${method.toUpperCase()} ${route}`,
        method: method.toUpperCase(),
        route,
        params: (op.parameters ?? []).map((p: any) => ({ in: p.in, name: p.name, array: p.schema?.type === 'array' })),
        schema: content['application/json']?.schema ?? null,
        multipartOnly: !content['application/json'] && !!content['multipart/form-data'],
      })
    }
  return ops
}

const NUMBERISH = [
  '',
  '-1',
  '0',
  '1',
  '3',
  '1e308',
  'NaN',
  '2147483648',
  '9007199254740993',
  '99999999999999999999',
  '0x10',
  ' 1',
  'true',
  'abc',
  '1.5',
]
const GLOBS = [
  '*',
  '**',
  '*.txt',
  '**/*',
  '{a,b}',
  '[',
  '[a-',
  '*a*a*a*a*a*a*a*a*b',
  '',
  '../*',
  '/**',
  '{'.repeat(200),
  '**/'.repeat(50),
  'a'.repeat(300),
]
const idKind = (route: string): Kind =>
  route.startsWith('/v1/isolated/session')
    ? 'isolated'
    : route.startsWith('/pty')
      ? 'pty'
      : route.startsWith('/session')
        ? 'session'
        : route.startsWith('/code/contexts')
          ? 'context'
          : route.startsWith('/code/executions')
            ? 'execution'
            : 'command'

function queryValue(op: Op, name: string): fc.Arbitrary<J> {
  if (name === 'path') return pathRef
  if (name === 'path_base64')
    return fc.oneof({ weight: 3, arbitrary: pathBase64Ref }, { weight: 1, arbitrary: hostileString })
  if (name === 'pattern') return fc.oneof(fc.constantFrom<J>(...GLOBS), hostileString)
  if (name === 'language') return languages
  if (name === 'id')
    return fc.oneof(idRef(op.route === '/code' ? 'execution' : 'command'), idRef('session'), hostileString)
  return fc.oneof({ weight: 4, arbitrary: fc.constantFrom<J>(...NUMBERISH) }, { weight: 1, arbitrary: hostileString })
}

const HUGE_QUERY = 'q'.repeat(65_536)
function query(op: Op): fc.Arbitrary<[string, J][]> {
  const declared = op.params.filter(p => p.in === 'query')
  const each = declared.map(p =>
    fc.option(
      fc
        .array(queryValue(op, p.name), { minLength: 1, maxLength: p.array ? 2 : 1 })
        .map(vs => vs.map(v => [p.name, v] as [string, J])),
      { freq: 5 },
    ),
  )
  const extra = fc.oneof(
    { weight: 8, arbitrary: fc.constant<[string, J][]>([]) },
    { weight: 1, arbitrary: fc.constant<[string, J][]>([[declared[0]?.name ?? 'q', HUGE_QUERY]]) },
    { weight: 1, arbitrary: fc.tuple(fc.string({ maxLength: 6 }), hostileString).map(kv => [kv as [string, J]]) },
  )
  return fc.tuple(fc.tuple(...each), extra).map(([vals, more]) => [...vals.flatMap(v => v ?? []), ...more])
}

const PARAM = ['', '..', '%2e%2e', 'a/b', 'x'.repeat(5000), '\u0000', 'null', '-1', '%ff']
function params(op: Op): fc.Arbitrary<Record<string, J>> {
  const rec: Record<string, fc.Arbitrary<J>> = {}
  for (const p of op.params.filter(p => p.in === 'path'))
    rec[p.name] = fc.oneof(
      { weight: 3, arbitrary: idRef(idKind(op.route)) },
      { weight: 2, arbitrary: fc.constantFrom<J>(...PARAM) },
      { weight: 1, arbitrary: hostileString },
    )
  if (op.route.endsWith('/*'))
    rec['*'] = fc
      .tuple(
        fc.constantFrom(
          'echo',
          'closed',
          'self',
          '',
          'abc',
          '-1',
          '0',
          '65536+closed',
          '4294967296+closed',
          ' closed',
          'closed.0',
          '0xclosed',
          '+closed',
        ),
        fc.constantFrom('', 'ping', 'x/../../y', '%2e%2e/ping', '//a', 'files/info?path=a.txt', 'a'.repeat(3000)),
      )
      .map(([port, rest]) => new Text([`{port:${port}}/${rest}`]))
  return fc.record(rec)
}

const CONTENT_TYPES = [
  'application/json',
  'text/plain',
  'application/json; charset=utf-16',
  'application/x-www-form-urlencoded',
  'multipart/form-data',
  'application/json, text/html',
  'APPLICATION/JSON',
  'application/merge-patch+json',
  '',
]
const framing: fc.Arbitrary<RawFraming> = fc.record({
  host: fc.constantFrom<string | null>(
    '{self}',
    '',
    null,
    'ab',
    'x',
    'api',
    'a b',
    'evil.example',
    '[::1]:1',
    'h'.repeat(5000),
    'localhost',
  ),
  length: fc.constantFrom<RawFraming['length']>(
    'exact',
    'short',
    'long',
    'twice',
    'negative',
    'garbage',
    'chunked-bad',
  ),
  http10: fc.boolean(),
  rawTarget: fc.boolean(),
})

/**
 * Headers the daemon reads besides the framing: a download's Range and If-Modified-Since, a
 * replay's Last-Event-ID, and ones it must ignore (Content-Encoding of a body it reads as
 * given, Expect, Accept). Each value comes from a list of the shapes a parser gets wrong.
 */
const HEADERS: Record<string, string[]> = {
  range: [
    'bytes=0-0',
    'bytes=-1',
    'bytes=5-1',
    'bytes=0-',
    'bytes=99999999999999999999-',
    'bytes=-99999999999999999999',
    'bytes=1e3-2e3',
    'bytes=-',
    'bytes=',
    'bytes=0-1,2-3,' + '4-5,'.repeat(2000),
    'items=0-1',
    'bytes=0x10-',
    'bytes= 1 - 2 ',
    'bytes=-0',
    'x'.repeat(8000),
  ],
  'if-modified-since': [
    'Thu, 01 Jan 1970 00:00:00 GMT',
    'Fri, 31 Dec 9999 23:59:59 GMT',
    'garbage',
    '',
    '-1',
    '99999999999999999999',
    'Sat, 01 Jan +275760 00:00:00 GMT',
  ],
  'last-event-id': ['0', '-1', '1e308', '99999999999999999999', 'abc', ' 3 ', '9007199254740993', 'x'.repeat(8000)],
  'content-encoding': ['gzip', 'br', 'deflate', 'identity', 'x'],
  expect: ['100-continue', 'nonsense'],
  accept: ['text/event-stream', 'application/json', '*/*', 'x'],
}
const extraHeaders: fc.Arbitrary<[string, string][]> = fc.oneof(
  { weight: 4, arbitrary: fc.constant<[string, string][]>([]) },
  {
    weight: 1,
    arbitrary: fc.uniqueArray(
      fc
        .constantFrom(...Object.keys(HEADERS))
        .chain(name => fc.tuple(fc.constant(name), fc.constantFrom(...HEADERS[name]!))),
      { minLength: 1, maxLength: 3, selector: ([name]) => name },
    ),
  },
)

export function httpCase(op: Op): fc.Arbitrary<HttpCase> {
  return fc
    .record({
      params: params(op),
      query: query(op),
      body: body(op),
      contentType: fc.oneof(
        { weight: 8, arbitrary: fc.constant('application/json') },
        { weight: 3, arbitrary: fc.constantFrom<string | null>(null, ...CONTENT_TYPES) },
      ),
      origin: fc.oneof(
        { weight: 8, arbitrary: fc.constant<string | null>(null) },
        { weight: 1, arbitrary: fc.constantFrom('http://evil.example', 'null', '{self}') },
      ),
      headers: extraHeaders,
      token: fc.oneof(
        { weight: 30, arbitrary: fc.constant<TokenForm>('valid') },
        { weight: 1, arbitrary: fc.constantFrom<TokenForm>('missing', 'wrong', 'prefix', 'longer', 'twice') },
      ),
      raw: fc.option(framing, { freq: 8 }),
    })
    .map(c => ({ kind: 'http' as const, op: op.key, method: op.method, route: op.route, ...c }))
}
