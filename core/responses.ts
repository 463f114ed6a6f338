/**
 * What a route answers when it fails, for the OpenAPI document only: every section renders its
 * errors through `errorResponse` (core/errors.ts) and the token check answers 401 before any
 * route runs, so one definition describes them all. Nothing here is validated or sent; a
 * route's `detail.responses` (or its `response` schemas) only name the statuses it can give.
 */
import { t } from 'elysia'
import { statusOf, WIRE_CODES } from './errors'

/** Every code execd answers, each with its status (docs/contract.md §1 explains them). */
const ERROR_CODE = {
  type: 'string' as const,
  enum: [...WIRE_CODES],
  description: WIRE_CODES.map(code => `${code} ${statusOf(code)}`).join(', '),
}

const ERROR_BODY = {
  type: 'object' as const,
  required: ['code', 'message'],
  properties: { code: ERROR_CODE, message: { type: 'string' as const } },
}

/**
 * 501 NOT_SUPPORTED of a route that starts a process, when the container lacks what it needs
 * (core/capabilities.ts requirePiece): `what` names the pieces that route can miss.
 */
export const missingPiece = (what: string) =>
  `NOT_SUPPORTED: this container lacks ${what} (GET /capabilities lists what works here)`

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
  t.Object({ code: t.String({ ...ERROR_CODE, enum: [...WIRE_CODES] }), message: t.String() }, { description })
const unauthorizedSchema = () => t.Object({ error: t.String() }, { description: UNAUTHORIZED })

/** What the document's paths hold, as far as the failures below need. */
type Operations = Record<
  string,
  Record<string, { requestBody?: { content?: object }; responses?: Record<string, any> }>
>

const errorAnswer = (description: string) => ({
  description,
  content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
})

/**
 * The failures every route can give, whatever it declares (its own 503, too many contexts say,
 * is kept and the limit named beside it): any unexpected failure is a 500; the fd or process
 * limit reached (core/errors.ts limitReached) or the route's group still being built
 * (core/app.ts) a 503; a JSON body over the limit a 413, one not received in time a 408
 * (core/body.ts). `/ping` is answered before all of them.
 */
export function documentEveryFailure(paths: Operations): void {
  for (const [path, operations] of Object.entries(paths)) {
    if (path === '/ping') continue
    for (const op of Object.values(operations)) {
      const responses = (op.responses ??= {})
      responses['401'] ??= { $ref: '#/components/responses/Unauthorized' }
      responses['500'] ??= errorAnswer('RUNTIME_ERROR: an unexpected failure')
      const existing = responses['503']
      if (existing?.description) existing.description = `${existing.description}; or ${LIMIT.toLowerCase()}`
      else responses['503'] = errorAnswer(`SERVICE_UNAVAILABLE: ${LIMIT}`)
      if (op.requestBody?.content && 'application/json' in op.requestBody.content) {
        responses['408'] ??= errorAnswer('REQUEST_TIMEOUT: the body was not received in time')
        responses['413'] ??= errorAnswer('PAYLOAD_TOO_LARGE: a JSON body over --max-json-bytes')
      }
    }
  }
}

const LIMIT =
  'A limit reached (open files, processes: retry once other work ends) or the routes still being built (retry)'
