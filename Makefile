# genscope — see README.md. "make run" and "make test" are the two commands.
GO ?= go

.PHONY: run build test unit fuzz vet bench-ingest bench-query clean

run: build
	./genscope serve

build:
	$(GO) build -o genscope ./cmd/genscope

# The whole suite: vet, unit/integration/end-to-end tests with the race
# detector, then every fuzz test briefly.
test: vet unit fuzz

vet:
	$(GO) vet ./...
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo "gofmt needed"; exit 1; }

unit: test/azure-exporter/node_modules
	$(GO) test -race -count=1 -timeout 20m ./...

# Real client libraries the tests drive (the Azure Monitor exporter), from
# npm, pinned by the lockfile.
test/azure-exporter/node_modules: test/azure-exporter/package-lock.json
	cd test/azure-exporter && npm ci --no-audit --no-fund
	touch $@

fuzz:
	FUZZTIME=$${FUZZTIME:-5s} ./scripts/fuzz.sh

bench-ingest: build
	./genscope bench ingest

bench-query: build
	./genscope bench query

clean:
	rm -f genscope
