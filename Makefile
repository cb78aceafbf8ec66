# genscope — see README.md. "make run" and "make test" are the two commands.
GO ?= go

.PHONY: run build ui test unit fixture-clock fuzz vet bench-ingest bench-query bench-gateway clean

run: build
	./genscope serve

build: ui
	$(GO) build -o genscope ./cmd/genscope

# The dashboard: web/ (TypeScript, esbuild, uPlot from npm, pinned by the
# lockfile) built into internal/web/dist, which the binary embeds.
ui: internal/web/dist/index.html

internal/web/dist/index.html: web/node_modules web/build.mjs $(wildcard web/src/*)
	cd web && npm run build

web/node_modules: web/package-lock.json
	cd web && npm ci --no-audit --no-fund
	touch $@

# The whole suite: vet, unit/integration/end-to-end tests with the race
# detector, the fixture-based tests again with the captures a year in the
# past, then every fuzz test briefly.
test: vet unit fixture-clock fuzz

vet: web/node_modules
	$(GO) vet ./...
	cd web && npm run --silent check
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo "gofmt needed"; exit 1; }

unit: test/azure-exporter/node_modules test/openai-client/node_modules test/otel-metrics/node_modules ui
	$(GO) test -race -count=1 -timeout 30m ./...

# Real client libraries the tests drive (the Azure Monitor exporter), from
# npm, pinned by the lockfile.
test/azure-exporter/node_modules: test/azure-exporter/package-lock.json
	cd test/azure-exporter && npm ci --no-audit --no-fund
	touch $@

# The official OpenAI Node.js SDK, driving the gateway.
test/openai-client/node_modules: test/openai-client/package-lock.json
	cd test/openai-client && npm ci --no-audit --no-fund
	touch $@

# The OpenTelemetry JS metrics SDK and OTLP/HTTP exporter, sending GenAI metrics.
test/otel-metrics/node_modules: test/otel-metrics/package-lock.json
	cd test/otel-metrics && npm ci --no-audit --no-fund
	touch $@

# The tests that send captured fixtures, run with every capture moved a
# year into the past (internal/fixture): none may depend on the day it
# runs, or on how old the capture is.
FIXTURE_TESTS = TestEndToEnd$$|TestAppInsightsEndToEnd|TestTrust$$|TestSelfSignedHTTPS|TestBrowser$$
fixture-clock: ui
	GENSCOPE_FIXTURE_SHIFT=-8760h $(GO) test -count=1 -timeout 20m ./internal/fixture/ ./internal/ingest/...
	GENSCOPE_FIXTURE_SHIFT=-8760h $(GO) test -count=1 -timeout 20m -run '$(FIXTURE_TESTS)' ./internal/app/ ./internal/web/

fuzz:
	FUZZTIME=$${FUZZTIME:-5s} ./scripts/fuzz.sh

bench-ingest: build
	./genscope bench ingest

bench-query: build
	./genscope bench query

bench-gateway: build
	./genscope bench gateway

clean:
	rm -f genscope
