import { expect, test } from 'bun:test'
import { pickSpec } from '.'
import { JupyterServer } from './rest'

test('a host without scheme is http, and a base path is kept for REST and WebSocket URLs', () => {
  const s = new JupyterServer('127.0.0.1:44771', 'tok')
  expect(s.url('api/kernels').href).toBe('http://127.0.0.1:44771/api/kernels')
  const b = new JupyterServer('https://hub.example/user/me', 't k')
  expect(b.url('api/kernelspecs').href).toBe('https://hub.example/user/me/api/kernelspecs')
  expect(b.channelsUrl('k-1', 's-1')).toBe(
    'wss://hub.example/user/me/api/kernels/k-1/channels?session_id=s-1&token=t+k',
  )
})

test('the default kernelspec serves its language; otherwise the first by name, whatever the order', () => {
  const specs = {
    default: 'python3',
    specs: [
      { name: 'zeta', language: 'R', displayName: '' },
      { name: 'python3', language: 'python', displayName: '' },
      { name: 'apython', language: 'python', displayName: '' },
      { name: 'ir', language: 'R', displayName: '' },
    ],
  }
  expect(pickSpec(specs, 'python')?.name).toBe('python3')
  expect(pickSpec(specs, 'r')?.name).toBe('ir')
  expect(pickSpec(specs, 'go')).toBeUndefined()
})
