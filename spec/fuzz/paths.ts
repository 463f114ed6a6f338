/**
 * Hostile paths that stay inside the fuzz's own temp tree even if the daemon's confinement is
 * broken: every form ( `..`, absolute, `~`, `$VAR`) is built so that, resolved naively against
 * the root, the daemon's cwd or HOME (all two levels below the tree's base), it never climbs
 * above the base. A bug then shows up as a change beside the root, never as damage elsewhere.
 */
import fc from 'fast-check'
import { Text } from './values'

export interface Layout {
  base: string
  sentinel: string
  root: string
  cwd: string
  home: string
}

/** Where a path starts and how many levels below the base that is. */
const PREFIXES = [
  { p: '', depth: 2 },
  { p: 'abs:base', depth: 0 },
  { p: 'abs:sentinel', depth: 1 },
  { p: 'abs:root', depth: 2 },
  { p: '~', depth: 2 },
  { p: '$HOME', depth: 2 },
  { p: '${HOME}', depth: 2 },
  { p: '$PWD', depth: 2 },
  { p: '$FUZZ_OUT', depth: 1 },
] as const

const NAMES = [
  'x',
  'sub',
  'a.txt',
  'out',
  'outf',
  'abs',
  'sentinel',
  'w',
  'root',
  'cwd',
  'home',
  'new',
  '*',
  '?',
  '{a,b}',
  '[a]',
  ' ',
  '-rf',
]
const ODD = ['n'.repeat(300), 'a\u0000b', 'é', '.git', '$FUZZ_MARK', '$NOPE', '${NOPE}', 'a$FUZZ_MARK', '\n', '%00']
const UP = ['..', '%2e%2e', '..%2f..', '\\..\\..', '...']

type Seg = string | number[]
const seg: fc.Arbitrary<Seg> = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...NAMES) },
  { weight: 3, arbitrary: fc.constantFrom(...UP) },
  { weight: 2, arbitrary: fc.constantFrom('', '.') },
  { weight: 2, arbitrary: fc.constantFrom(...ODD) },
  { weight: 1, arbitrary: fc.constantFrom<Seg>([0xff, 0xfe], [0x61, 0xc0, 0xaf], [0xed, 0xa0, 0x80]) },
)

const ups = (s: Seg) => (typeof s === 'string' ? s.split(/\.\.|%2e%2e/i).length - 1 : 0)

export interface PathSpec {
  prefix: (typeof PREFIXES)[number]['p']
  segs: Seg[]
  long: boolean
}

/** The hostile path forms, with the empty path and a path longer than PATH_MAX among them. */
export const hostilePath: fc.Arbitrary<PathSpec> = fc.oneof(
  {
    weight: 12,
    arbitrary: fc.record({
      prefix: fc.constantFrom(...PREFIXES.map(x => x.p)),
      segs: fc.array(seg, { maxLength: 6 }),
      long: fc.constant(false),
    }),
  },
  { weight: 1, arbitrary: fc.constant<PathSpec>({ prefix: '', segs: [], long: false }) },
  { weight: 1, arbitrary: fc.constant<PathSpec>({ prefix: '', segs: ['x'], long: true }) },
)

/** Renders a spec, dropping any `..` that would climb above the base (see the file comment). */
export function renderPath(spec: PathSpec, layout: Layout): Text {
  const start = PREFIXES.find(x => x.p === spec.prefix)!
  let level = start.depth
  const kept: Seg[] = []
  for (const s of spec.segs) {
    if (s === '$NOPE' || s === '${NOPE}') {
      // An unset variable at the front would turn the rest into an absolute path.
      if (kept.length === 0 && start.p === '') continue
    }
    const up = ups(s)
    if (up > 0) {
      if (level - up < 0) continue
      level -= up
    } else if (s !== '' && s !== '.') level += 1
    kept.push(s)
  }
  const head =
    spec.prefix === 'abs:base'
      ? layout.base
      : spec.prefix === 'abs:sentinel'
        ? layout.sentinel
        : spec.prefix === 'abs:root'
          ? layout.root
          : spec.prefix
  const parts: (string | number[])[] = []
  if (head) parts.push(head)
  kept.forEach((s, i) => {
    if (i > 0 || head) parts.push('/')
    parts.push(s)
  })
  if (spec.long) parts.push('/' + 'd/'.repeat(1500) + 'end')
  return new Text(parts)
}

/** Percent-encodes text for a query or a path segment, raw bytes as they are. */
export function urlEncode(t: Text | string): string {
  const parts = typeof t === 'string' ? [t] : t.parts
  return parts
    .map(p =>
      typeof p === 'string'
        ? Array.from(new TextEncoder().encode(p), b =>
            /[A-Za-z0-9_.~-]/.test(String.fromCharCode(b))
              ? String.fromCharCode(b)
              : '%' + b.toString(16).toUpperCase().padStart(2, '0'),
          ).join('')
        : p.map(b => '%' + b.toString(16).toUpperCase().padStart(2, '0')).join(''),
    )
    .join('')
}
