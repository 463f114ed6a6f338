/**
 * `null` given for an optional member of a JSON body reads as the member left out. The
 * reference decodes bodies with Go's encoding/json, which leaves a field as it was when the body
 * says `null`, so a client that writes every field and its unset ones as null (Python's
 * `json={"cwd": None, "timeout": None}`, Jackson and Gson by default, hand-built maps) is
 * answered there as if it had left them out; here such a body was a 400 (`cwd: Expected
 * string`). The upload's metadata already read null as absent (plugins/files/ops/upload.ts).
 */
import type { TSchema } from '@sinclair/typebox'

/**
 * Removes, in place, every member of `value` that is null where `schema` declares it optional
 * and does not itself take null, at any depth (objects, `t.Record` maps' values, arrays'
 * items); a map's null entry becomes its value's zero, as Go stores it. A required member's null
 * is kept, for its route's own 400. True when the body changed (its text must then be made
 * again). Members of unions are left as they are.
 */
export function dropNullOptionals(schema: TSchema | undefined, value: unknown): boolean {
  if (!schema || typeof value !== 'object' || value === null) return false
  if (Array.isArray(value)) {
    const items = schema.items as TSchema | TSchema[] | undefined
    if (!items || Array.isArray(items)) return false
    let dropped = false
    for (const item of value) dropped = dropNullOptionals(items, item) || dropped
    return dropped
  }
  if (schema.type !== 'object') return false
  const props = (schema.properties ?? {}) as Record<string, TSchema>
  const required: readonly string[] = schema.required ?? []
  const rest = restOf(schema)
  const members = value as Record<string, unknown>
  let dropped = false
  for (const key of Object.keys(members)) {
    const named = Object.hasOwn(props, key)
    const inner = named ? props[key] : rest
    if (members[key] === null) {
      if (named && !required.includes(key) && !takesNull(inner)) {
        delete members[key]
        dropped = true
      } else if (!named && inner && !takesNull(inner)) {
        // A map's entry: Go stores the value's zero (`"envs": {"A": null}` sets A to "").
        const zero = zeroOf(inner)
        if (zero !== undefined) {
          members[key] = zero
          dropped = true
        }
      }
    } else if (inner) dropped = dropNullOptionals(inner, members[key]) || dropped
  }
  return dropped
}

/** The schema of the members a map (`t.Record`) or an open object holds besides its named ones. */
function restOf(schema: TSchema): TSchema | undefined {
  if (typeof schema.additionalProperties === 'object') return schema.additionalProperties as TSchema
  const patterns = schema.patternProperties as Record<string, TSchema> | undefined
  return patterns ? Object.values(patterns)[0] : undefined
}

/** What Go's decoder leaves in a map entry given null: its type's zero value. */
function zeroOf(schema: TSchema): unknown {
  switch (schema.type) {
    case 'string':
      return ''
    case 'number':
    case 'integer':
      return 0
    case 'boolean':
      return false
    case 'object':
      return {}
    case 'array':
      return []
  }
  return undefined
}

const takesNull = (schema: TSchema | undefined): boolean =>
  !!schema &&
  (schema.type === 'null' ||
    (Array.isArray(schema.type) && schema.type.includes('null')) ||
    ((schema.anyOf ?? schema.oneOf) as TSchema[] | undefined)?.some(takesNull) === true)
