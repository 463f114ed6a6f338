/**
 * execd's token file, wherever a session's sandbox shows it (a balanced /, a bind, the
 * workspace), reads as empty: with it, a session's code (and share_net) called execd's API as
 * execd and ran commands outside every sandbox.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { postJson, startDaemon, waitFor, type Daemon } from './harness'
import { isolationOf, outsideTmpDir, stdoutOf } from './kit/isolated'

const bwrap = Bun.which('bwrap')

// Outside /tmp, as a mounted secret is (/run/secrets, /etc/…): a balanced session's / shows it.
const secrets = bwrap ? outsideTmpDir('execd-spec-token-') : undefined
const token = `t-${crypto.randomUUID()}`
let d: Daemon
let ws: string

describe.skipIf(!secrets)('the token file inside a session', () => {
  beforeAll(async () => {
    // As a Kubernetes secret: the name is a link to the file that holds the token.
    mkdirSync(join(secrets!, '..data'))
    writeFileSync(join(secrets!, '..data', 'token'), `${token}\n`, { mode: 0o600 })
    symlinkSync('..data/token', join(secrets!, 'token'))
    ws = mkdtempSync(join(tmpdir(), 'execd-spec-token-ws-'))
    d = await startDaemon({
      token: null,
      args: ['--access-token-file', join(secrets!, 'token'), '--isolated-binds', secrets!],
      waitForPing: false,
    })
    await waitFor('execd to answer /ping', () =>
      fetch(`${d.url}/ping`, { headers: { 'X-EXECD-ACCESS-TOKEN': token } }).then(
        r => r.status === 200,
        () => false,
      ),
    )
  })
  afterAll(async () => {
    await d?.stop()
    rmSync(secrets!, { recursive: true, force: true })
    rmSync(ws, { recursive: true, force: true })
  })

  const sdk = () => isolationOf({ ...d, token })

  test('the daemon takes the token from the file', async () => {
    expect((await fetch(`${d.url}/ping`)).status).toBe(401)
    expect((await fetch(`${d.url}/ping`, { headers: { 'X-EXECD-ACCESS-TOKEN': token } })).status).toBe(200)
  })

  test('balanced: the file (by its name and by its link target) reads as empty', async () => {
    const e = await sdk().runOnce(`cat ${join(secrets!, 'token')} ${join(secrets!, '..data', 'token')}; echo end`, ws, {
      profile: 'balanced',
    })
    expect(stdoutOf(e).join('\n')).not.toContain(token)
    expect(stdoutOf(e)).toEqual(['end'])
  })

  test('strict with the secrets dir bound elsewhere, or as the workspace: empty too', async () => {
    const bound = await sdk().runOnce('cat /secrets/..data/token; echo end', ws, {
      binds: [{ source: secrets!, dest: '/secrets', readonly: true }],
    })
    expect(stdoutOf(bound)).toEqual(['end'])
    const workspace = await sdk().runOnce('cat ..data/token; echo end', secrets!)
    expect(stdoutOf(workspace)).toEqual(['end'])
  })

  test('an overlay workspace that holds it is a 400 (its merged view showed the file as it is)', async () => {
    const authed: Daemon = {
      ...d,
      token,
      fetch: (path, init = {}) =>
        fetch(d.url + path, {
          ...init,
          headers: { ...(init.headers as Record<string, string>), 'X-EXECD-ACCESS-TOKEN': token },
        }),
    }
    const res = await postJson(authed, '/v1/isolated/session', { workspace: { path: secrets!, mode: 'overlay' } })
    const body = await res.json()
    if (body.session_id) await authed.fetch(`/v1/isolated/session/${body.session_id}`, { method: 'DELETE' })
    expect({ status: res.status, code: body.code }).toEqual({ status: 400, code: 'INVALID_REQUEST_BODY' })
    expect(body.message).toContain('token file')
  })
})
