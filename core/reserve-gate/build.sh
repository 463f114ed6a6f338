#!/bin/sh
# Prints each gate's machine code as core/reserve-gate.ts holds it (base64 of the .text alone;
# the ELF header around it is written there). Needs llvm-mc and llvm-objcopy (one assembler for
# both architectures); run by hand after an edit of x64.s or arm64.s, and paste the lines.
set -eu
cd "$(dirname "$0")"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for arch in x64:x86_64 arm64:aarch64; do
  name=${arch%%:*}
  llvm-mc -triple="${arch##*:}-linux-gnu" -filetype=obj -o "$tmp/$name.o" "$name.s"
  llvm-objcopy -O binary -j .text "$tmp/$name.o" "$tmp/$name.bin"
  echo "  $name: '$(base64 -w0 "$tmp/$name.bin")',"
done
