/**
 * The gate of a direct route (core/plugin.ts DirectRoute): a body its route's own schema takes
 * exactly as sent. Its own module, loaded with the routes that use it: the TypeBox compiler is
 * not needed to answer the first /ping.
 */
import type { TSchema } from '@sinclair/typebox'
import { TypeCompiler } from '@sinclair/typebox/compiler'

/**
 * Whether a parsed body is one that `schema` accepts exactly as it is: valid, and with no
 * property the schema does not name, at any depth (Elysia would strip those, so such a body
 * is not the route's as sent). What a direct route's `accepts` asks (core/plugin.ts).
 */
export function acceptsExactly(schema: TSchema): (body: unknown) => boolean {
  // Compiled on the first body, not when the section's routes are built after listening:
  // an idle execd that never runs a cell does not keep the compiled check (~1 MiB resident).
  let check: ReturnType<typeof TypeCompiler.Compile> | undefined
  return body => (check ??= TypeCompiler.Compile(schema)).Check(body) && namedOnly(schema, body)
}

function namedOnly(schema: TSchema, value: unknown): boolean {
  if (schema.type !== 'object' || typeof value !== 'object' || value === null) return true
  const props = (schema.properties ?? {}) as Record<string, TSchema>
  // A t.Record names its members by pattern (`envs`: any name): each was refused as unnamed,
  // so every POST /command with an env went to Elysia, its body parsed again.
  const patterns = Object.entries((schema.patternProperties ?? {}) as Record<string, TSchema>)
  // for-in sees a parsed `"__proto__"` key too: JSON.parse makes it an own property.
  for (const key in value) {
    const inner = Object.hasOwn(props, key) ? props[key] : byPattern(patterns, key)
    if (!inner || !namedOnly(inner, (value as Record<string, unknown>)[key])) return false
  }
  return true
}

/** The schema of a Record's member `key`, if one of its patterns names it (Elysia keeps those). */
function byPattern(patterns: [string, TSchema][], key: string): TSchema | undefined {
  // `__proto__` is never a member the direct route takes, whatever the pattern.
  if (key === '__proto__') return undefined
  for (const [pattern, inner] of patterns) if (new RegExp(pattern).test(key)) return inner
  return undefined
}
