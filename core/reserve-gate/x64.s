# The gate in front of a child's program where a memory reserve exists (core/reserve-gate.ts):
# argv: enter GATE-FD FILE ARGV0 ARGS...; waits for a byte or EOF on GATE-FD, closes it, then
# execve(FILE, ARGV0 ARGS..., the environment as it came). With fewer than 4 arguments it exits 0
# (the probe that it can run here). Position-independent: no data, the stack only.
.globl _start
_start:
  mov (%rsp), %r12            # argc
  cmp $4, %r12
  jb done
  mov 16(%rsp), %rsi          # argv[1]: the gate's fd, decimal
  xor %edi, %edi
parse:
  movzbl (%rsi), %eax
  sub $48, %eax
  cmp $9, %eax
  ja parsed
  imul $10, %edi, %edi
  add %eax, %edi
  inc %rsi
  jmp parse
parsed:
  mov %edi, %ebx
wait:
  mov %ebx, %edi
  lea -8(%rsp), %rsi
  mov $1, %edx
  xor %eax, %eax              # read(gate, buf, 1): returns once execd has moved this pid
  syscall
  cmp $-4, %rax               # EINTR
  je wait
  mov %ebx, %edi
  mov $3, %eax                # close(gate)
  syscall
  mov 24(%rsp), %rdi          # argv[2]: the file
  lea 32(%rsp), %rsi          # argv + 3
  lea 16(%rsp,%r12,8), %rdx   # envp = argv + argc + 1
  mov $59, %eax               # execve
  syscall
  mov $127, %edi              # ENOENT: 127, as a shell says it; anything else 126
  cmp $-2, %rax
  je out
  mov $126, %edi
  jmp out
done:
  xor %edi, %edi
out:
  mov $231, %eax              # exit_group
  syscall
