/**
 * Checks deploy/kubernetes/*.yaml against the Kubernetes API schemas of `kubernetes-models`
 * (maintained, generated from the Kubernetes OpenAPI spec, validates with ajv). It is no
 * dependency of execd: install it anywhere and point at it.
 *
 *   npm install --prefix /tmp/k8s kubernetes-models@4
 *   K8S_MODELS=/tmp/k8s/node_modules/kubernetes-models bun scripts/validate-manifests.ts
 */
import { readdirSync } from 'node:fs'
import { join } from 'node:path'

const models = process.env.K8S_MODELS
if (!models) {
  console.error('set K8S_MODELS to an installed kubernetes-models package (see the comment on top)')
  process.exit(2)
}
/** apiVersion → the package's folder for it ("v1" is the core group). */
const modelOf = async (apiVersion: string, kind: string) =>
  (await import(join(models, apiVersion, kind)))[kind] as new (o: unknown) => { validate(): void }

const dir = join(import.meta.dir, '..', 'deploy/kubernetes')
let bad = 0
for (const file of readdirSync(dir).filter(f => f.endsWith('.yaml'))) {
  const parsed = Bun.YAML.parse(await Bun.file(join(dir, file)).text()) as unknown
  for (const doc of (Array.isArray(parsed) ? parsed : [parsed]) as {
    apiVersion: string
    kind: string
    metadata: { name: string }
  }[]) {
    const name = `${file}: ${doc.kind}/${doc.metadata?.name}`
    try {
      new (await modelOf(doc.apiVersion, doc.kind))(doc).validate()
      console.log(`valid    ${name}`)
    } catch (err) {
      bad++
      console.log(`INVALID  ${name}: ${(err as Error).message}`)
    }
  }
}
process.exit(bad ? 1 : 0)
