import { expect, test } from 'bun:test'
import { fitted } from './progress'

const figures = [
  '  1.0 MiB of 6.0 GiB (0%)  9.0 MiB/s  ETA 11m22s',
  '  1.0 MiB of 6.0 GiB (0%)  9.0 MiB/s',
  '  1.0 MiB of 6.0 GiB (0%)',
  '  (0%)',
]

test('a progress line never reaches the last column, with room for the echo of ^C: the ETA, the rate, the sizes and the label give way', () => {
  const label = 'get /tmp/somewhere/deep/big.bin'
  expect(fitted(label, figures, 200)).toBe(label + figures[0])
  for (const width of [10, 20, 30, 40, 60, 80]) {
    // Two columns more for the terminal's `^C`: wrapped, it kept the line on the screen.
    expect(Bun.stringWidth(fitted(label, figures, width)) + 2).toBeLessThan(width)
  }
  expect(fitted(label, figures, 60, '…')).toBe('…mewhere/deep/big.bin  1.0 MiB of 6.0 GiB (0%)  9.0 MiB/s')
  expect(fitted(label, figures, 20, '…')).toBe('…ep/big.bin  (0%)')
  expect(fitted(label, figures, 10)).toBe('  (0%)')
  // Wide characters count as the two columns they take.
  expect(Bun.stringWidth(fitted('put 大きなファイル.bin', figures, 30))).toBeLessThan(28)
})

test('outside a UTF-8 locale the cut label starts with ASCII dots, the line as narrow', () => {
  const label = 'get /tmp/somewhere/deep/big.bin'
  expect(fitted(label, figures, 60, '...')).toBe('...where/deep/big.bin  1.0 MiB of 6.0 GiB (0%)  9.0 MiB/s')
  for (const width of [10, 20, 30, 40, 60, 80])
    expect(fitted(label, figures, width, '...').length + 2).toBeLessThan(width)
})
