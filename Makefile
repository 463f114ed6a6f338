# execd — every target installs what it needs first; only Node/npm must be on the machine.
BUN      := node_modules/.bin/bun
TSC      := node_modules/.bin/tsc
PRETTIER := node_modules/.bin/prettier
FORMATTED := 'cmd/**/*.ts' 'core/**/*.ts' 'plugins/**/*.ts' 'spec/**/*.ts' 'bench/**/*.ts'
BIN      := dist/execd
PORT     ?= 44772
COMMIT   := $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)
VERSION  := $(shell node -p "require('./package.json').version")
SOURCES  := $(shell find cmd core plugins -type f \( -name '*.ts' -o -name '*.py' -o -name '*.js' -o -name '*.java' -o -name '*.go' \) ! -name '*.test.ts' 2>/dev/null)
# Interpreters for the language runtimes: Debian's python3 carries the Debian-packaged
# libraries (matplotlib, pandas) even when another python3 comes first on PATH.
export EXECD_PYTHON ?= $(shell test -x /usr/bin/python3 && echo /usr/bin/python3 || command -v python3)

.PHONY: all install build typecheck format format-check lint-openapi test unit runtimes spec serve bench fuzz fuzz-cli fuzz-model fuzz-coverage clean release release-check

all: build

install: node_modules/.installed

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

build: $(BIN)

# Bun's own header limit sits above ours (core/front-door.ts MAX_HEAD_BYTES) so that a large
# head gets the contract's JSON 431 from us, not Bun's empty one. Bytecode, as the release
# builds: start → first /ping 217–226 ms against 319–320 ms without (same minutes, this
# machine), for no longer a build. Split into chunks (--splitting, ESM): what the program
# imports dynamically — each CLI verb, each language runtime's implementation, the OpenAPI
# builder — is a chunk of its own, loaded (with the node:* modules it names) on first use
# rather than with the rest: `--version` 55 → 41 ms CPU, serve's idle RSS −1.6 MiB against one
# CommonJS bundle, which in turn beat one ESM bundle (it imports every node:* module the
# program names before its first line).
# A JIT ten times as reluctant until serve has built its routes (cmd/serve.ts sets it back to
# 1 then; CLI verbs keep it): the start's code runs once, and compiling it cost ~5 ms of CPU in
# JIT threads before the first /ping; CPU to the first /ping p25 65.5 → 54.7 ms, ~150 fewer
# page faults, RssAnon −0.45 MiB at that point (20 interleaved starts).
# No .env or bunfig.toml read from the directory execd starts in (Bun reads both by default):
# a project's .env reached every command's environment, a bunfig.toml preload ran in the daemon
# (spec/start-dir-files.test.ts); the walk up to them also cost the start ~70 page faults.
$(BIN): node_modules/.installed $(SOURCES) package.json
	@rm -f $(dir $(BIN))*.map  # each build names its chunks' maps anew
	$(BUN) build cmd/execd.ts --compile --minify --sourcemap --bytecode --format=esm --splitting \
	  --compile-exec-argv=--max-http-header-size=1048576 \
	  --compile-jit-policy=10 --no-compile-autoload-dotenv --no-compile-autoload-bunfig \
	  --define 'process.env.EXECD_BUILD_COMMIT="$(COMMIT)"' \
	  --define 'process.env.EXECD_BUILD_VERSION="$(VERSION)"' \
	  --outfile $(BIN)

## Release executables for linux x64/arm64, glibc and musl, + SHA256SUMS in dist/release, built
## offline from the Bun runtimes pinned in package-lock.json (scripts/release.mjs), then gated.
## RELEASE_TARGETS=linux-x64,... builds fewer; RELEASE_BYTECODE=0 builds without bytecode.
RELEASE_DIR := dist/release

release: node_modules/.installed
	RELEASE_OUT=$(RELEASE_DIR) $(BUN) scripts/release.mjs
	$(MAKE) release-check

## The gates (spec/release.test.ts, needs root): glibc ≤ 2.17, the smoke suite in a bare rootfs
## (x64) and under qemu-user (arm64), the musl executables' loader and libraries, the checksums;
## with EXECD_MINBASE=<a debootstrap --variant=minbase root>, the smoke suite in it too.
release-check: node_modules/.installed
	cd $(RELEASE_DIR) && sha256sum --check --quiet SHA256SUMS
	EXECD_RELEASE_DIR=$(abspath $(RELEASE_DIR)) $(TEST) spec/release.test.ts

typecheck: node_modules/.installed
	$(TSC) --noEmit -p tsconfig.json

format: node_modules/.installed
	$(PRETTIER) --log-level warn --write $(FORMATTED)

format-check: node_modules/.installed
	$(PRETTIER) --log-level warn --check $(FORMATTED)

## Three test tiers, and `make test` (CI) runs every one:
##   unit      the unit tests beside the code (bench/ included), but for the language runtimes': seconds
##   runtimes  each language runtime against its real interpreter (Java, Jupyter: most of the time)
##   spec      the contract tests in spec/ against the compiled executable, in small batches,
##             SPEC_SHARDS (2) at once (spec/shards.ts; `make spec SPEC_FILTER=spec/files` for some)
## The timeout is here because `bun test` reads none from bunfig.toml (its default is 5 s); the
## guard is preloaded by bunfig.toml.
## spec/tmp-guard.ts fails a tier whose tests leave execd-*/pty-* entries in the temp dir.
TEST     := EXECD_TMP_GUARD=1 $(BUN) test --timeout 60000
RUNTIMES := python javascript bash java go sql jupyter

test: format-check typecheck lint-openapi unit runtimes spec

## The committed OpenAPI snapshot against Redocly's recommended rules, warnings included
## (spec/redocly.yaml; its exceptions, with reasons, in spec/.redocly.lint-ignore.yaml).
## Offline: no telemetry, no update check.
lint-openapi: node_modules/.installed
	REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true node_modules/.bin/redocly lint \
	  --config spec/redocly.yaml --format=stylish spec/openapi.json

unit: node_modules/.installed
	$(TEST) $(foreach r,$(RUNTIMES),--path-ignore-patterns='plugins/$(r)/**') core cmd plugins bench

# --isolate: each file gets its own module registry, so a file's in-process caches (the java
# helper's, which plugins/java/archive.test.ts and helper-cache.test.ts point at caches of their
# own) are its own.
# The trailing slash: a path filter takes every file whose path contains it (plugins/java: javascript too).
runtimes: node_modules/.installed
	$(TEST) --isolate $(RUNTIMES:%=plugins/%/)

spec: build
	$(BUN) run spec/shards.ts $(SPEC_FILTER)

# EXECD_HOST/EXECD_PORT choose the address as they do for `execd serve` (loopback and 44772
# unless set). The daemon gets the caller's environment, not make's: MAKEFLAGS and friends
# would otherwise reach every command it runs (a `make` in a cell would inherit -j, -k, …).
SERVE_HOST = $(or $(EXECD_HOST),127.0.0.1)
SERVE_PORT = $(or $(EXECD_PORT),$(PORT))
serve: build
	@echo "execd: serving on http://$(SERVE_HOST):$(SERVE_PORT)"
	@if [ -n "$$EXECD_ACCESS_TOKEN" ]; then echo "execd: token required (from EXECD_ACCESS_TOKEN) in header X-EXECD-ACCESS-TOKEN"; \
	  else echo "execd: no token — set EXECD_ACCESS_TOKEN=... (or pass --access-token) to require X-EXECD-ACCESS-TOKEN"; fi
	@echo "execd: API explorer at http://$(SERVE_HOST):$(SERVE_PORT)/docs, OpenAPI at /openapi.json"
	exec env -u MAKEFLAGS -u MAKELEVEL -u MFLAGS -u MAKEOVERRIDES -u MAKE_TERMOUT -u MAKE_TERMERR \
	  $(BIN) serve --host '$(SERVE_HOST)' --port '$(SERVE_PORT)'

bench: build
	BUN_CONFIG_MAX_HTTP_REQUESTS=1024 $(BUN) run bench/index.ts

## The long fuzz of every route (spec/fuzz): FUZZ_SECONDS (300), FUZZ_SEED reproduces a run.
fuzz: build
	FUZZ_SECONDS=$${FUZZ_SECONDS:-300} $(BUN) run spec/fuzz/main.ts

## The CLI's fuzz (spec/fuzz/cli-main.ts): exec, fs and metrics, here and with --url; FUZZ_SECONDS (120).
fuzz-cli: build
	FUZZ_SECONDS=$${FUZZ_SECONDS:-120} $(BUN) run spec/fuzz/cli-main.ts

## The model-based fuzz (spec/fuzz/model.ts): files, contexts, sessions, command logs checked step by step; FUZZ_SECONDS (120).
fuzz-model: build
	FUZZ_SECONDS=$${FUZZ_SECONDS:-120} $(BUN) run spec/fuzz/model-main.ts

## Which lines of core/ and plugins/ the fuzz reaches: both fuzzes against execd from source under
## coverage (spec/fuzz/covered), then the report, least reached first. FUZZ_SECONDS (300).
fuzz-coverage: install
	rm -rf coverage/fuzz
	-FUZZ_BIN=$(CURDIR)/spec/fuzz/covered/execd-covered COVERAGE_DIR=$(CURDIR)/coverage/fuzz FUZZ_PING_MS=$${FUZZ_PING_MS:-5000} \
	  FUZZ_SECONDS=$${FUZZ_SECONDS:-300} $(BUN) run spec/fuzz/main.ts
	-FUZZ_BIN=$(CURDIR)/spec/fuzz/covered/execd-covered COVERAGE_DIR=$(CURDIR)/coverage/fuzz \
	  FUZZ_SECONDS=$${FUZZ_MODEL_SECONDS:-60} $(BUN) run spec/fuzz/model-main.ts
	$(BUN) run spec/fuzz/covered/report.ts coverage/fuzz

clean:
	rm -rf dist coverage bench/results
