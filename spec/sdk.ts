/**
 * The official TypeScript SDK's execd clients, pointed straight at a test daemon (no lifecycle
 * server), as reference/sdk.md describes: the SDK never adds the token itself.
 */
import { expect } from 'bun:test'
import { ConnectionConfig, DefaultAdapterFactory, SandboxApiException } from '@alibaba-group/opensandbox'
import type { Daemon } from './harness'

export type ExecdStack = ReturnType<DefaultAdapterFactory['createExecdStack']>

export function sdkFor(d: Daemon, requestTimeoutSeconds = 30): ExecdStack {
  // apiKey '' keeps OPEN_SANDBOX_API_KEY from the environment out of it.
  const connectionConfig = new ConnectionConfig({
    domain: d.url,
    apiKey: '',
    requestTimeoutSeconds,
  }).withTransportIfMissing()
  return new DefaultAdapterFactory().createExecdStack({
    connectionConfig,
    execdBaseUrl: d.url,
    endpointHeaders: { 'X-EXECD-ACCESS-TOKEN': d.token },
  })
}

/** What a rejected call threw, as a user catching a SandboxApiException looks at it. */
export async function sdkFailure(call: () => Promise<unknown>) {
  const e = await call().then(
    () => undefined,
    (err: unknown) => err,
  )
  expect(e).toBeInstanceOf(SandboxApiException)
  const api = e as SandboxApiException
  return { status: api.statusCode, code: api.error.code, message: api.message, raw: api.rawBody }
}
