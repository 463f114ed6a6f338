/**
 * What the isolated section offers outside its folder: the requests `execd exec --isolated`
 * makes, the check of a create request's words it makes before anything is opened, and what
 * `execd doctor` says of isolation here.
 */
import { settingsOf, type Config } from '../../core/config'
import type { Capabilities } from './ops/probe'
import { OPTIONS } from './options'

export { checkShape, type CreateRequest } from './ops/params'
export type { RunRequest } from './ops/run-request'

/**
 * What `GET /v1/isolated/capabilities` would answer here, without opening the section (no
 * staging, no sessions): `execd doctor`'s, so a container without bubblewrap says so before a
 * first session is refused.
 */
export async function isolationHere(config: Config): Promise<Capabilities> {
  const { probe, publicPart } = await import('./ops/probe')
  return publicPart(await probe(settingsOf(config, OPTIONS).bwrap))
}
