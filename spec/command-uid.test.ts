/**
 * A command's uid (CONTRACT §2): the user's group, HOME and USER from its passwd entry, and for a
 * uid with none, a group of its own number and HOME / (as `docker run --user N`), never root's.
 */
import { expect, test } from 'bun:test'
import { commandFrames, texts } from './command-stream'
import { daemonAlone } from './kit/daemon-dir'

const fx = daemonAlone()

const run = (body: Record<string, unknown>) => commandFrames(fx.d, body)

test.skipIf(process.getuid?.() !== 0)('uid runs as that user with its HOME and USER', async () => {
  const frames = await run({ command: 'id -u; id -g; echo "$HOME $USER"', uid: 65534 })
  expect(texts(frames)).toEqual(['65534', '65534', '/nonexistent nobody'])
})

test.skipIf(process.getuid?.() !== 0)('a uid with no passwd entry runs in its own group, HOME /, no USER', async () => {
  // It ran with gid 0 (root's group, as the reference's zero credential) and execd's HOME and USER.
  const frames = await run({
    command: 'id -u; id -g; id -G; echo "$HOME ${USER-none} ${LOGNAME-none}"',
    uid: 54321,
  })
  expect(texts(frames)).toEqual(['54321', '54321', '54321', '/ none none'])
  const given = await run({ command: 'id -g; echo "$USER"', uid: 54321, gid: 0, envs: { USER: 'u' } })
  expect(texts(given)).toEqual(['0', 'u'])
})
