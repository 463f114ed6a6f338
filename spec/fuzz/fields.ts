/**
 * Generators for the fields of request bodies, from the schema and from what a field is
 * (a path, a command, a mode, an owner...). Fields that run something only ever get
 * allowlisted commands (values.ts `commandValue`).
 */
import fc from 'fast-check'
import { IdRef, PathBase64Ref, PathRef } from './cases'
import { hostilePath } from './paths'
import { commandValue, Entries, hostileNumber, hostileString, hostileValue, type J } from './values'
import type { Kind } from './world'

export const pathRef = hostilePath.map(s => new PathRef(s) as J)
export const pathBase64Ref = hostilePath.map(s => new PathBase64Ref(new PathRef(s)) as J)
export const idRef = (kind: Kind) => fc.nat(1000).map(n => new IdRef(kind, n) as J)
/**
 * Languages: odd spellings mostly, and now and then a real runtime other than bash (an
 * interpreter each, kept few by send.ts), so its context and execution routes see live ids.
 * Java and Go are left out here (a JVM or a compile per case is more than the 2-core box can
 * take): runtimes.ts runs their contexts, one case at a time.
 */
export const languages = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.constantFrom<J>('bash', 'command', '', 'nope', 'Bash', 'bash\u0000', '../bash', 'x'.repeat(5000)),
  },
  { weight: 1, arbitrary: fc.constantFrom<J>('python', 'javascript', 'sql') },
)
export const owners = fc.constantFrom<J>(
  '99999999999999999999',
  '4294967296',
  '-1',
  '0',
  'root',
  'nobody',
  '',
  'a:b',
  'no-such-user',
  'a\u0000b',
  0,
  2 ** 53,
  -1,
)
export const modes = fc.oneof(
  fc.constantFrom<J>(0, 644, 755, 777, 7777, 8, 9, 999, 77777, -1, 2 ** 31, 1e308, '755', '0o755', 'abc', '', '1e3'),
  hostileNumber,
)
const envKeys = fc.constantFrom('FZ', 'FZ_X', '', '=', 'FZ=X', 'FZ\u0000X', '1FZ', 'FZ-X', 'é', 'FZ'.repeat(3000))
const envs = fc.dictionary(envKeys, fc.oneof(hostileString, hostileValue), { maxKeys: 3 })

/** A generator for one schema node; `name` is the property it sits under. */
function fromSchema(schema: any, name: string, depth = 0): fc.Arbitrary<J> {
  const byName = named(name)
  if (byName) return byName
  const typed = typedFromSchema(schema, depth)
  return fc.oneof({ weight: 5, arbitrary: typed }, { weight: 1, arbitrary: hostileValue })
}

function named(name: string): fc.Arbitrary<J> | null {
  if (name === 'command' || name === 'code') return commandValue
  if (['cwd', 'path', 'src', 'dest'].includes(name))
    return fc.oneof({ weight: 6, arbitrary: pathRef }, { weight: 1, arbitrary: hostileValue })
  if (['path_base64', 'src_base64', 'dest_base64'].includes(name))
    return fc.oneof({ weight: 4, arbitrary: pathBase64Ref }, { weight: 1, arbitrary: hostileValue })
  if (name === 'language') return fc.oneof({ weight: 4, arbitrary: languages }, { weight: 1, arbitrary: hostileValue })
  if (name === 'id') return fc.oneof(idRef('context'), hostileValue)
  if (name === 'owner' || name === 'group' || name === 'uid' || name === 'gid') return owners
  if (name === 'mode') return modes
  if (name === 'envs')
    return fc.oneof({ weight: 4, arbitrary: envs as fc.Arbitrary<J> }, { weight: 1, arbitrary: hostileValue })
  if (name === 'timeout')
    return fc.oneof(fc.constantFrom<J>(3e9, 2 ** 31, 2 ** 53 - 1, 1e308, 0, -1, 100), hostileNumber, hostileValue)
  return null
}

export function typedFromSchema(schema: any, depth: number): fc.Arbitrary<J> {
  if (!schema || depth > 4) return hostileValue
  // A value the enum allows most of the time: otherwise what sits behind the check is never reached.
  if (Array.isArray(schema.enum))
    return fc.oneof(
      { weight: 4, arbitrary: fc.constantFrom<J>(...schema.enum) },
      { weight: 1, arbitrary: hostileString },
    )
  if (schema.anyOf)
    return fc.oneof(...(schema.anyOf.map((s: any) => typedFromSchema(s, depth + 1)) as fc.Arbitrary<J>[]))
  switch (schema.type) {
    case 'object': {
      if (schema.patternProperties) {
        const value = fromSchema(Object.values<any>(schema.patternProperties)[0], '', depth + 1)
        return fc.array(fc.tuple(pathRef, value), { maxLength: 3 }).map(e => new Entries(e) as J)
      }
      const props = Object.entries<any>(schema.properties ?? {})
      const record: Record<string, fc.Arbitrary<J>> = {}
      for (const [k, s] of props) record[k] = fromSchema(s, k, depth + 1)
      return fc
        .tuple(
          fc.record(record, { requiredKeys: [] }),
          fc.option(fc.tuple(fc.string({ maxLength: 8 }), hostileValue), { freq: 4 }),
        )
        .map(([obj, extra]) => (extra ? { ...obj, [extra[0]]: extra[1] } : obj) as J)
    }
    case 'array':
      return fc.array(typedFromSchema(schema.items, depth + 1), { maxLength: 3 }) as fc.Arbitrary<J>
    case 'string':
      return hostileString
    case 'integer':
    case 'number':
      return hostileNumber
    case 'boolean':
      return fc.boolean()
    default:
      return hostileValue
  }
}
