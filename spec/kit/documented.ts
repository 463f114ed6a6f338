/**
 * The statuses `/openapi.json` lists for one operation, as the daemon under test serves it: a
 * test that meets an error answer checks that a client reading the document could expect it
 * (the 501s of a container without bash, a log cursor's 400, were answered and listed nowhere).
 */
import type { Daemon } from '../harness'

export async function documentedStatuses(
  d: Pick<Daemon, 'fetch'>,
  method: string,
  template: string,
): Promise<string[]> {
  const doc = await (await d.fetch('/openapi.json')).json()
  return Object.keys(doc.paths[template]?.[method.toLowerCase()]?.responses ?? {})
}
