import { expect, test } from 'bun:test'
import { Elysia } from 'elysia'
import { createLogger } from './log'
import { askedOf, mount } from './mount'

const log = createLogger('silent')

/** A route that answers a HEAD itself with the length its GET would send, as the downloads and the proxy do. */
const sized = ({ request }: { request: Request }) => {
  const asked = askedOf(request)
  const headers = { 'content-length': '12345', 'x-asked': asked.method }
  return asked.method === 'HEAD' ? new Response(null, { headers }) : new Response('x'.repeat(12_345), { headers })
}

test('a HEAD on a dynamic route that takes HEAD reaches it marked as the HEAD it is, its length as the route made it', async () => {
  const group = mount('t', ['/t'], new Elysia().get('/t/:id', sized).head('/t/:id', sized), log)
  const head = new Request('http://localhost/t/1', { method: 'HEAD' })
  const res = await group.handle(head)
  // Handed to Elysia as a HEAD, this route's answer got the length of the body Elysia read: 0.
  expect([res.headers.get('x-asked'), res.headers.get('content-length')]).toEqual(['HEAD', '12345'])
  const get = await group.handle(new Request('http://localhost/t/1'))
  expect([get.headers.get('x-asked'), (await get.text()).length]).toEqual(['GET', 12_345])
  // A request the mount did not mark is answered as itself.
  expect(askedOf(head)).toBe(head)
})

test('a HEAD route without its GET route is refused at mount: its HEAD is answered by the GET', () => {
  expect(() => mount('t', ['/t'], new Elysia().head('/t/:id', sized), log)).toThrow(
    'route HEAD /t/:id has no GET route',
  )
})
