import { expect, test } from 'bun:test'
import { readFileSync } from 'node:fs'
import { signalMask, signalsIn } from './signal-masks'

test("a status text's masks, and the signals in one", () => {
  const status = 'Name:\tx\nSigBlk:\t0000000000000000\nSigIgn:\t0000000001001000\nSigCgt:\t0000000000004002\n'
  expect(signalMask(status, 'SigIgn')).toBe(0x1001000n)
  expect(signalsIn(signalMask(status, 'SigIgn')!)).toEqual([13, 25])
  expect(signalsIn(signalMask(status, 'SigCgt')!)).toEqual([2, 15])
  expect(signalMask(status, 'SigPnd')).toBeUndefined()
  expect(signalsIn(0x8000000000000001n)).toEqual([1, 64])
})

test("this process's own: Bun ignores SIGPIPE", () => {
  expect(signalsIn(signalMask(readFileSync('/proc/self/status', 'latin1'), 'SigIgn')!)).toContain(13)
})
