/**
 * An overlay isolated session, and one whose commit has a long copy ahead of a small file: the
 * moment the temp-dir attacks (spec/temp-dir-planted, spec/temp-dir-held) swap execd's layers in.
 */
import { expect } from 'bun:test'
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { postJson, readSse, stdoutJoined, type Daemon } from '../harness'

/** An overlay session on `ws` (made if missing); its id. */
export async function overlaySession(d: Daemon, ws: string): Promise<string> {
  mkdirSync(ws, { recursive: true })
  const made = await postJson(d, '/v1/isolated/session', { workspace: { path: ws, mode: 'overlay' } })
  expect(made.status).toBe(201)
  return (await made.json()).session_id
}

/**
 * A session on `ws` holding `z.txt` ("kept"), whose run wrote a 512 MiB big.bin and changed z.txt:
 * its commit copies big.bin first, with z.txt still to stage.
 */
export async function sessionWithBigCommit(d: Daemon, ws: string): Promise<string> {
  mkdirSync(ws)
  writeFileSync(join(ws, 'z.txt'), 'kept\n')
  const id = await overlaySession(d, ws)
  const code = 'head -c 512M /dev/zero > big.bin && echo changed > z.txt && echo ok'
  expect(stdoutJoined(await readSse(await postJson(d, `/v1/isolated/session/${id}/run`, { code })))).toBe('ok')
  return id
}
