import { expect, test } from 'bun:test'
import { ExecdError } from './errors'
import { InterruptHub } from './interrupts'

test('handlers are asked in the order they were added until one knows the id', async () => {
  const hub = new InterruptHub()
  const asked: string[] = []
  hub.add(async id => (asked.push(`commands:${id}`), id === 'cmd'))
  hub.add(async id => (asked.push(`code:${id}`), id === 'ctx'))
  expect(await hub.interrupt('ctx')).toBe(true)
  expect(asked).toEqual(['commands:ctx', 'code:ctx'])
})

test('stop: a missing id is MISSING_QUERY, an unknown one CONTEXT_NOT_FOUND', async () => {
  const hub = new InterruptHub()
  hub.add(async id => id === 'known')
  await expect(hub.stop('known')).resolves.toBeUndefined()
  const missing = (await hub.stop(undefined).catch(e => e)) as ExecdError
  expect([missing.code, missing.message]).toEqual(['MISSING_QUERY', "missing query parameter 'id'"])
  const unknown = (await hub.stop('nope').catch(e => e)) as ExecdError
  expect([unknown.code, unknown.status]).toEqual(['CONTEXT_NOT_FOUND', 404])
})
