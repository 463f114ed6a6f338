// The gate in front of a child's program where a memory reserve exists (core/reserve-gate.ts):
// argv: enter GATE-FD FILE ARGV0 ARGS...; waits for a byte or EOF on GATE-FD, closes it, then
// execve(FILE, ARGV0 ARGS..., the environment as it came). With fewer than 4 arguments it exits 0
// (the probe that it can run here). Position-independent: no data, the stack only.
.globl _start
_start:
  ldr x19, [sp]               // argc
  cmp x19, #4
  b.lo done
  ldr x1, [sp, #16]           // argv[1]: the gate's fd, decimal
  mov x20, #0
parse:
  ldrb w2, [x1], #1
  sub w2, w2, #48
  cmp w2, #9
  b.hi wait
  mov x3, #10
  madd x20, x20, x3, x2
  b parse
wait:
  mov x0, x20
  sub x1, sp, #16
  mov x2, #1
  mov x8, #63                 // read(gate, buf, 1): returns once execd has moved this pid
  svc #0
  cmn x0, #4                  // EINTR
  b.eq wait
  mov x0, x20
  mov x8, #57                 // close(gate)
  svc #0
  ldr x0, [sp, #24]           // argv[2]: the file
  add x1, sp, #32             // argv + 3
  add x2, sp, #16
  add x2, x2, x19, lsl #3     // envp = argv + argc + 1
  mov x8, #221                // execve
  svc #0
  mov x1, #127                // ENOENT: 127, as a shell says it; anything else 126
  cmn x0, #2
  b.eq out
  mov x1, #126
  b out
done:
  mov x1, #0
out:
  mov x0, x1
  mov x8, #94                 // exit_group
  svc #0
