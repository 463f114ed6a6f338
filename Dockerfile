# syntax=docker/dockerfile:1
# A minimal image holding only the execd executable, at /execd: nothing to run a container
# from by itself, something to copy from (`COPY --from=`) or an init container that copies it.
#
#   make release                                   # dist/release/execd-linux-{x64,arm64}
#   docker build -t execd:0.1.0 .                  # this machine's architecture
#   docker buildx build --platform linux/amd64,linux/arm64 -t REGISTRY/execd:0.1.0 --push .
#
# The glibc executables: the image execd is copied into needs glibc >= 2.17 (Debian, Ubuntu,
# RHEL/CentOS 7+, Amazon Linux, distroless/base...). For Alpine, copy execd-linux-*-musl
# instead (it needs `apk add libstdc++ libgcc`). See README.md, "Requirements".
ARG TARGETARCH=amd64

FROM scratch AS amd64
COPY dist/release/execd-linux-x64 /execd

FROM scratch AS arm64
COPY dist/release/execd-linux-arm64 /execd

FROM ${TARGETARCH}
# Run on its own (no shell in it: commands and sessions answer 501 NOT_SUPPORTED, javascript
# and typescript code still run): docker run -e EXECD_ACCESS_TOKEN=... -p 44772:44772 execd
ENTRYPOINT ["/execd"]
CMD ["serve"]
