/**
 * execd's `serve` from source inside `bun test --coverage` (Bun measures coverage only there), for
 * spec/fuzz/covered/execd-covered: the fuzz world starts it in place of dist/execd
 * (FUZZ_BIN) to learn which lines of core/ and plugins/ a campaign reaches. Not a test: its
 * name keeps it out of `make spec`. serve's words come in EXECD_COVERED_ARGS (JSON).
 */
import { test } from 'bun:test'

test('serve under coverage', async () => {
  const words = JSON.parse(process.env.EXECD_COVERED_ARGS ?? '[]') as string[]
  // serve ends with process.exit after its shutdown; under the test runner that would end the
  // run before the coverage is written, so the test ends there instead.
  const ended = new Promise<void>(resolve => {
    process.exit = ((code?: number) => {
      process.exitCode = code ?? 0
      resolve()
    }) as typeof process.exit
  })
  const { main } = await import('../../../cmd/cli')
  void main(words)
  await ended
}, 0)
