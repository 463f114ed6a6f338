/**
 * The official TypeScript SDK's execd clients, pointed straight at a test daemon (no lifecycle
 * server), as reference/sdk.md describes: the SDK never adds the token itself.
 */
import { ConnectionConfig, DefaultAdapterFactory } from '@alibaba-group/opensandbox'
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
