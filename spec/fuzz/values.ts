/**
 * Hostile JSON for the fuzz: a value tree whose leaves may be raw tokens that JSON.stringify
 * cannot write (invalid UTF-8 inside a string, `1e999`, 10,000-deep nesting), serialized to
 * bytes only when a request is sent so a deep case costs a few bytes while it is generated.
 */
import fc from 'fast-check'

/** Text with raw byte runs (numbers[]) that may be invalid UTF-8; written as one string literal. */
export class Text {
  constructor(readonly parts: (string | number[])[]) {}
  toString(): string {
    return this.parts.map(p => (typeof p === 'string' ? p : Buffer.from(p).toString('latin1'))).join('')
  }
}
/** Verbatim JSON text (`1e999`, `NaN`, `01`, ...), or `depth` nested arrays/objects around null. */
export class Raw {
  constructor(readonly text: string) {}
}
export class Deep {
  constructor(
    readonly depth: number,
    readonly shape: 'array' | 'object',
  ) {}
}

/** An object whose keys may be Text (a non-UTF-8 path as a JSON key), in this order. */
export class Entries {
  constructor(readonly entries: [J, J][]) {}
}

/** A value only known when the request is sent (a path rendered into the temp tree, a live id). */
export abstract class Late {
  abstract label(): string
}
export type Resolve = (late: Late) => J

export type J = null | boolean | number | string | Text | Raw | Deep | Entries | Late | J[] | { [key: string]: J }

const enc = new TextEncoder()

function literal(t: J, out: Uint8Array[], resolve: Resolve): void {
  if (t instanceof Late) return literal(resolve(t), out, resolve)
  if (!(t instanceof Text)) return void out.push(enc.encode(JSON.stringify(String(t))))
  out.push(enc.encode('"'))
  for (const p of t.parts)
    out.push(typeof p === 'string' ? enc.encode(JSON.stringify(p).slice(1, -1)) : Uint8Array.from(p))
  out.push(enc.encode('"'))
}

function write(v: J, out: Uint8Array[], resolve: Resolve): void {
  if (v instanceof Late) return write(resolve(v), out, resolve)
  if (v instanceof Text) return literal(v, out, resolve)
  if (v instanceof Raw) return void out.push(enc.encode(v.text))
  if (v instanceof Deep) {
    const [open, close] = v.shape === 'array' ? ['[', ']'] : ['{"a":', '}']
    return void out.push(enc.encode(open.repeat(v.depth) + 'null' + close.repeat(v.depth)))
  }
  if (typeof v === 'number') return void out.push(enc.encode(Number.isFinite(v) ? JSON.stringify(v) : 'null'))
  if (v === null || typeof v !== 'object') return void out.push(enc.encode(JSON.stringify(v)))
  if (Array.isArray(v)) {
    out.push(enc.encode('['))
    v.forEach((x, i) => (i && out.push(enc.encode(',')), write(x, out, resolve)))
    return void out.push(enc.encode(']'))
  }
  out.push(enc.encode('{'))
  const entries = v instanceof Entries ? v.entries : Object.entries(v)
  entries.forEach(([k, x], i) => {
    if (i) out.push(enc.encode(','))
    literal(k, out, resolve)
    out.push(enc.encode(':'))
    write(x, out, resolve)
  })
  out.push(enc.encode('}'))
}

export function toBytes(v: J, resolve: Resolve): Uint8Array {
  const out: Uint8Array[] = []
  write(v, out, resolve)
  return Buffer.concat(out)
}

/** A short human-readable form for reports (deep values and long strings abbreviated). */
export function describe(v: unknown): string {
  return JSON.stringify(v, (_k, x) => {
    if (x instanceof Deep) return `<${x.shape} nested ${x.depth} deep>`
    if (x instanceof Raw) return `<raw ${x.text.slice(0, 40)}>`
    if (x instanceof Text)
      return `<text ${JSON.stringify(x.toString().slice(0, 60))}${x.toString().length > 60 ? `…(${x.toString().length})` : ''}>`
    if (x instanceof Late) return `<${x.label()}>`
    if (x instanceof Entries) return Object.fromEntries(x.entries.map(([k, y]) => [String(k), y]))
    if (x instanceof Uint8Array) return `<${x.length} bytes>`
    if (typeof x === 'string' && x.length > 80) return `${x.slice(0, 40)}…(${x.length} chars)`
    return x
  })
}

const BIG = [2 ** 31, 2 ** 31 - 1, -(2 ** 31), 2 ** 32, 2 ** 53, 2 ** 53 - 1, 2 ** 53 + 2, 1e308, -1e308, 5e-324]
export const hostileNumber = fc.oneof(
  fc.constantFrom(0, -0, -1, 1, 0.5, -0.5, 65536, 70000, 1e5, 1e9, 3e9, ...BIG),
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
)
/** Number-like text that JSON.parse reads as Infinity or a lossy number, or that is not JSON at all. */
export const rawNumber = fc
  .constantFrom(
    '1e999',
    '-1e999',
    '99999999999999999999',
    '1.0e+400',
    'NaN',
    'Infinity',
    '-Infinity',
    '0x10',
    '01',
    '-',
    '1_000',
    '.5',
    '+1',
  )
  .map(t => new Raw(t))
export const invalidUtf8 = fc
  .constantFrom<number[]>(
    [0xff],
    [0xfe, 0xff],
    [0xc0, 0xaf],
    [0xed, 0xa0, 0x80],
    [0xe2, 0x82],
    [0x80],
    [0xf8, 0x88, 0x80, 0x80, 0x80],
  )
  .map(b => new Text(['a', b, 'b']))

const LONG = 'x'.repeat(70_000)
export const hostileString = fc.oneof(
  fc.constantFrom('', ' ', 'NaN', 'Infinity', '-0', '1e308', '2147483648', 'null', 'true', '[]', '{}'),
  fc.constantFrom('\u0000', 'a\u0000b', '\ud800', '\udc00x', '\u202eevil', '🙂', '\r\n', '%00', '%ff', '\\', '"', "'"),
  fc.constant(LONG),
  fc.string({ maxLength: 12 }),
  fc.string({ unit: 'grapheme', maxLength: 8 }),
)

/** Nesting depth: mostly shallow, sometimes the 10,000 of issue 17. */
export const depth = fc.oneof(
  { weight: 6, arbitrary: fc.integer({ min: 1, max: 100 }) },
  { weight: 1, arbitrary: fc.integer({ min: 1000, max: 10_000 }) },
  { weight: 1, arbitrary: fc.constant(10_000) },
)
export const deep = fc
  .record({ d: depth, s: fc.constantFrom<'array' | 'object'>('array', 'object') })
  .map(x => new Deep(x.d, x.s))

/** Any hostile value: wrong types, extreme numbers, odd strings, nesting. No strings that could run as a command are produced where a command is expected — callers use `commandValue` there. */
export const hostileValue: fc.Arbitrary<J> = fc.letrec<{ v: J }>(tie => ({
  v: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.constant(null),
    fc.boolean(),
    hostileNumber,
    rawNumber,
    hostileString,
    invalidUtf8,
    deep,
    fc.array(tie('v'), { maxLength: 3 }),
    fc.dictionary(fc.string({ maxLength: 6 }), tie('v'), { maxKeys: 3 }),
  ),
})).v

/** Values for the non-string types only: what a command field may get besides the allowlist. */
export const nonString: fc.Arbitrary<J> = fc.oneof<fc.Arbitrary<J>[]>(
  fc.constant(null),
  fc.boolean(),
  hostileNumber,
  rawNumber,
  deep,
  fc.constant<J>([]),
  fc.constant<J>({}),
)

/** The only commands the fuzz ever lets run: harmless wherever they land (bash, python, SQL, a PTY). */
export const SAFE_COMMANDS = ['true', 'echo x', 'sleep 0.1'] as const
export const commandValue: fc.Arbitrary<J> = fc.oneof(
  { weight: 5, arbitrary: fc.constantFrom<J>(...SAFE_COMMANDS) },
  {
    weight: 2,
    arbitrary: fc.constantFrom<J>('', '   ', 'echo x\u0000echo y', `echo ${LONG}`, 'true #\ud800', ['true'], {
      command: 'true',
    }),
  },
  { weight: 1, arbitrary: fc.constant(new Text(['echo ', [0xff, 0xfe], 'x'])) },
  { weight: 2, arbitrary: nonString },
)
