/** A refusal read whole: its status and the contract's JSON `{code, message}` (checked to be JSON). */
import { expect } from 'bun:test'

export async function refused(res: Response): Promise<{ status: number; code: string; message: string }> {
  const text = await res.text()
  expect(res.headers.get('content-type') ?? '').toContain('application/json')
  return { status: res.status, ...JSON.parse(text) }
}
