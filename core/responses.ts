/**
 * What a route answers when it fails, for the OpenAPI document only: every section renders its
 * errors through `errorResponse` (core/errors.ts) and the token check answers 401 before any
 * route runs, so one definition describes them all. Nothing here is validated or sent; a
 * route's `detail.responses` (or its `response` schemas) only name the statuses it can give.
 */
import { t } from 'elysia'

const ERROR_BODY = {
  type: 'object' as const,
  required: ['code', 'message'],
  properties: {
    code: { type: 'string' as const, description: 'INVALID_REQUEST_BODY, FILE_NOT_FOUND, CONTEXT_NOT_FOUND, …' },
    message: { type: 'string' as const },
  },
}

const UNAUTHORIZED = 'missing or wrong X-EXECD-ACCESS-TOKEN (only when a token is configured)'

/** What `errors()` refers to, added to the document's components by core/app.ts. */
export const ERROR_COMPONENTS = {
  schemas: { Error: ERROR_BODY },
  responses: {
    Unauthorized: {
      description: UNAUTHORIZED,
      content: {
        'application/json': {
          // The reference's body, `{"error": …}`, not `{code, message}`.
          schema: { type: 'object' as const, required: ['error'], properties: { error: { type: 'string' as const } } },
        },
      },
    },
  },
}

/**
 * `detail.responses` entries for failures, the 401 of the token check included:
 * `errors({ 404: 'no such command' })`. Fresh objects per call: the OpenAPI builder may
 * annotate what it is given.
 */
export function errors(byStatus: Record<number, string> = {}) {
  const out: Record<string, object> = { 401: { $ref: '#/components/responses/Unauthorized' } }
  for (const [status, description] of Object.entries(byStatus)) {
    out[status] = { description, content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } }
  }
  return out
}

/**
 * The same for routes that declare `response` schemas (the builder then ignores
 * `detail.responses`). Handlers answer with `Response` objects, which Elysia does not validate,
 * so these only document.
 */
export function errorSchemas(byStatus: Record<number, string> = {}) {
  const out: Record<number, ReturnType<typeof errorSchema> | ReturnType<typeof unauthorizedSchema>> = {
    401: unauthorizedSchema(),
  }
  for (const [status, description] of Object.entries(byStatus)) out[Number(status)] = errorSchema(description)
  return out
}

const errorSchema = (description: string) =>
  t.Object(
    { code: t.String({ description: ERROR_BODY.properties.code.description }), message: t.String() },
    { description },
  )
const unauthorizedSchema = () => t.Object({ error: t.String() }, { description: UNAUTHORIZED })
