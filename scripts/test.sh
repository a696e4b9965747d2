#!/usr/bin/env bash
# Runs Focal's whole test suite: formatting, vet, generated code, and every
# test with the race detector (integration tests start private Prosody
# instances on loopback, so Prosody must be installed: done here if missing;
# the real-client tests of internal/jitsimeet need Debian's chromium,
# Jitsi's Prosody modules lua-cjson, lua-inspect, lua-basexx and
# lua-luaossl, the partition tests nftables:
# installed here too if missing).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
scripts/prosody.sh install

missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v nft >/dev/null 2>&1 || missing+=(nftables) # the partition tests cut nodes off with it
for lua_pkg in lua-cjson lua-inspect lua-basexx lua-luaossl; do # Jitsi's modules (the visitor ones need all four)
	dpkg-query -W -f='${Status}' "$lua_pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$lua_pkg")
done
if ((${#missing[@]} > 0)); then
	if ((EUID != 0)); then
		echo "scripts/test.sh: ${missing[*]} missing and installing needs root (apt-get)" >&2
		exit 1
	fi
	apt-get update
	DEBIAN_FRONTEND=noninteractive apt-get install -y "${missing[@]}"
fi

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

# Packages that start clusters of processes, Prosody or a browser run one
# at a time after the others: on a 2-core machine two of them side by side
# starve each other's failure detectors.
heavy=(./internal/clustertest/ ./internal/jitsimeet/ ./bench/loadgen/ ./node/)
light=$(go list ./... | grep -v -E '/(internal/clustertest|internal/jitsimeet|bench/loadgen|node)$')
# The output is kept so that a failure ends with a summary: where CI shows
# only the last lines, they name the failed tests and what they said.
out=$(mktemp)
status=0
go test -race -count=1 -timeout 20m $light 2>&1 | tee -a "$out" || status=$?
go test -race -count=1 -p 1 -timeout 40m "${heavy[@]}" 2>&1 | tee -a "$out" || status=$?
if ((status != 0)); then
	echo "=== what the failed tests said (lines cut at 300 characters) ==="
	grep -E '^[[:space:]]+[A-Za-z0-9_]+_test\.go:[0-9]+: |^panic: ' "$out" | cut -c1-300 | tail -n 40
	echo "=== failed ==="
	grep -E '^[[:space:]]*--- FAIL|^FAIL[[:space:]]' "$out" | tail -n 20
fi
rm -f "$out"
exit "$status"
