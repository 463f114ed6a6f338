/**
 * The core's own routes, a group like a section's (core/app.ts mounts it on first need):
 * `/ping` (answered by the dispatcher itself, declared here for the document), `/capabilities`,
 * `/openapi.json` and the offline API explorer at `/docs`.
 */
import { Elysia, t } from 'elysia'
import { capabilities } from './capabilities'
import { DOCS_PATHS, docsAsset } from './docs'
import { emptyOk, json } from './errors'
import { errorSchemas, errors } from './responses'

const CapabilitySchema = t.Object({
  name: t.String({ description: '/proc, /dev/null, bash, shell, devpts or temp dir' }),
  ok: t.Boolean(),
  detail: t.String({ description: 'where it was found, or what is missing' }),
  needed_by: t.String({ description: 'what does not work without it' }),
})

export function coreRoutes(document: () => Promise<Response>) {
  let app = new Elysia({ name: 'api/core' })
    // The document itself is not an operation it lists.
    .get('/openapi.json', () => document(), { detail: { hide: true } })
    .get('/ping', () => emptyOk(), {
      detail: {
        tags: ['health'],
        summary: 'Liveness check (200, empty body)',
        responses: { 200: { description: 'alive, empty body' }, ...errors() },
      },
    })
    .get('/capabilities', () => json(capabilities()), {
      response: { 200: t.Array(CapabilitySchema, { description: 'one entry per piece' }), ...errorSchemas() },
      detail: {
        tags: ['health'],
        summary:
          'What this container offers execd (/proc, /dev/null, bash, a shell, devpts, a writable temp dir) and what each missing piece disables',
      },
    })
  // The explorer's page and files: not API operations, so not in the document it explores.
  for (const path of DOCS_PATHS) {
    app = app.get(path, () => docsAsset(path), { detail: { hide: true } }) as unknown as typeof app
  }
  return app
}
