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

const errorAnswer = (description: string) => ({
  description,
  content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
})

const FOREIGN =
  "a browser's request from an Origin not in --allowed-origin, or, with no token, a Host that is neither loopback nor an --allowed-host"

const HEAD = 'the request line and headers over 64 KiB'

/** What `errors()` refers to, added to the document's components by core/app.ts. */
export const ERROR_COMPONENTS = {
  schemas: { Error: ERROR_BODY },
  responses: {
    Foreign: errorAnswer(`FORBIDDEN: ${FOREIGN}`),
    HeadersTooLarge: errorAnswer(`HEADERS_TOO_LARGE: ${HEAD}`),
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

/**
 * The failures every route can give, whatever it declares (a route's own 503, too many contexts
 * say, is kept and the shared cause named beside it; so are its own 403 and 413): any unexpected
 * failure is a 500; the fd or process limit reached (core/errors.ts limitReached) or the route's
 * group still being built (core/app.ts) a 503; a JSON body over the limit a 413, one not
 * received in time a 408 (core/body.ts). The front door (core/front-door.ts, core/app.ts)
 * answers before any route, `/ping` included: a head over 64 KiB is 431, a browser's foreign
 * Origin or, without a token, a foreign Host 403.
 */
export function documentEveryFailure(paths: Operations): void {
  for (const [path, operations] of Object.entries(paths)) {
    for (const op of Object.values(operations)) {
      const responses = (op.responses ??= {})
      // One shared answer each, unless the route has its own cause for the status.
      if (responses['403']?.description) answers(responses, 403, `FORBIDDEN: ${FOREIGN}`)
      else responses['403'] = { $ref: '#/components/responses/Foreign' }
      responses['431'] ??= { $ref: '#/components/responses/HeadersTooLarge' }
      if (path === '/ping') continue
      responses['401'] ??= { $ref: '#/components/responses/Unauthorized' }
      responses['500'] ??= errorAnswer('RUNTIME_ERROR: an unexpected failure')
      answers(responses, 503, `SERVICE_UNAVAILABLE: ${LIMIT}`)
      if (op.requestBody?.content && 'application/json' in op.requestBody.content) {
        answers(responses, 408, 'REQUEST_TIMEOUT: the body was not received in time')
        answers(responses, 413, 'PAYLOAD_TOO_LARGE: a JSON body over --max-json-bytes')
      }
    }
  }
}

/** `status` described as `text`, or, when the route has its own, the cause after its own. */
function answers(responses: Record<string, any>, status: number, text: string): void {
  const own = responses[status]
  const cause = text.slice(text.indexOf(': ') + 2)
  if (own?.description) own.description = `${own.description}; or ${cause[0]!.toLowerCase()}${cause.slice(1)}`
  else responses[status] = errorAnswer(text)
}

const LIMIT =
  'A limit reached (open files, processes: retry once other work ends) or the routes still being built (retry)'
