#!/usr/bin/env bash
# Runs Focal's whole test suite: formatting, vet, generated code, and every
# test with the race detector (integration tests start private Prosody
# instances on loopback, so Prosody must be installed: done here if missing).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
scripts/prosody.sh install

unformatted=$(gofmt -l $(git ls-files '*.go'))
if [[ -n $unformatted ]]; then
	echo "gofmt needed on:" >&2
	echo "$unformatted" >&2
	exit 1
fi
go vet ./...

if command -v protoc >/dev/null; then
	# The committed .pb.go files must be what `go generate` makes.
	tmp=$(mktemp -d)
	trap 'rm -rf "$tmp"' EXIT
	cp -r proto "$tmp/"
	go generate ./proto/
	if ! diff -r -q proto "$tmp/proto" >/dev/null; then
		echo "proto/*.pb.go are stale: run go generate ./proto/ and commit" >&2
		diff -r proto "$tmp/proto" >&2 || true
		exit 1
	fi
fi

go test -race -count=1 -timeout 20m ./...
