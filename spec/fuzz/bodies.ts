/**
 * Request bodies: schema-derived and mutated JSON, bodies that are not one JSON value of the
 * schema's type, form bodies, and uploads whose parts do not match.
 */
import fc from 'fast-check'
import { type Body, type Part, defang } from './cases'
import { modes, owners, pathRef, typedFromSchema } from './fields'
import type { Op } from './operations'
import { hostileString, hostileValue, type J } from './values'

/** Bodies that are not one JSON value of the schema's top-level type. */
const MALFORMED = [
  'null',
  '[]',
  '[1,2]',
  '{}',
  '"str"',
  '123',
  '{',
  '{"cwd": ',
  "{'a':1}",
  '{"a":1}{"b":2}',
  '{"command":"true"} trailing',
  'hello',
  '\u0000\u0000',
  '{"a":1,}',
  '{"a":NaN}',
]
const topType = (raw: string) => {
  try {
    const v = JSON.parse(raw)
    return Array.isArray(v) ? 'array' : v === null ? 'null' : typeof v
  } catch {
    return 'invalid'
  }
}

const FORMS = [
  'command=true',
  'command=echo+x&cwd=..%2F..%2Fx',
  'code=true',
  'a=1&a=2',
  '%%%',
  '=',
  'command=true&timeout=3000000000',
  '',
]

const metadata = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record(
      { path: pathRef, mode: modes, owner: owners, group: owners },
      { requiredKeys: ['path'] },
    ) as fc.Arbitrary<J>,
  },
  { weight: 1, arbitrary: hostileValue },
  { weight: 1, arbitrary: fc.constantFrom<J>('not json', '{"path":', '') },
)
const part: fc.Arbitrary<Part> = fc.oneof(
  fc.record({
    name: fc.constant('metadata'),
    filename: fc.constantFrom<string | null>('metadata', null, 'x'),
    content: metadata,
  }),
  fc.record({
    name: fc.constant('file'),
    filename: fc.constantFrom<string | null>('x', null, '', '../x', 'x\u0000y'),
    content: fc.constantFrom<J>('hello', '', 'é'.repeat(1000)),
  }),
  fc.record({ name: hostileString, filename: fc.constant(null), content: fc.constant<J>('x') }),
)
/** Uploads with parts out of order, unpaired, unnamed, or a boundary the header does not announce. */
const multipart: fc.Arbitrary<Body> = fc.record({
  multipart: fc.array(part, { minLength: 1, maxLength: 4 }),
  boundary: fc.constant('fzb'),
  headerBoundary: fc.constantFrom<string | null>('fzb', 'fzb', null, 'other', '"fzb"', 'f'.repeat(300)),
  close: fc.boolean(),
})

export function body(op: Op): fc.Arbitrary<Body | null> {
  if (op.multipartOnly) return multipart
  if (!op.schema)
    return fc.oneof(
      { weight: 6, arbitrary: fc.constant(null) },
      {
        weight: 1,
        arbitrary: fc.constantFrom<Body>(
          { raw: '{}', malformed: false },
          { raw: 'x'.repeat(70_000), malformed: false },
        ),
      },
    )
  const wanted = op.schema.type
  return fc.oneof(
    { weight: 8, arbitrary: typedFromSchema(op.schema, 0).map(json => ({ json: defang(json) }) as Body) },
    { weight: 2, arbitrary: hostileValue.map(json => ({ json: defang(json) }) as Body) },
    {
      weight: 2,
      arbitrary: fc.constantFrom(...MALFORMED).map(raw => ({ raw, malformed: topType(raw) !== wanted }) as Body),
    },
    {
      weight: 1,
      arbitrary: fc.constantFrom<Body>(
        { bytes: [0x7b, 0x22, 0x63, 0x77, 0x64, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0x22, 0x7d] },
        { bytes: [0xff, 0xfe, 0xfd] },
        { bytes: [0xef, 0xbb, 0xbf, 0x7b, 0x7d] },
      ),
    },
    { weight: 1, arbitrary: fc.constantFrom(...FORMS).map(form => ({ form }) as Body) },
  )
}
