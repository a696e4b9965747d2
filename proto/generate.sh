#!/bin/sh
# Regenerates the .pb.go files from the .proto files in this directory with
# the protoc-gen-go version pinned in go.mod.
set -eu
cd "$(dirname "$0")"
plugin_dir=$(mktemp -d)
trap 'rm -rf "$plugin_dir"' EXIT
go build -o "$plugin_dir/protoc-gen-go" google.golang.org/protobuf/cmd/protoc-gen-go
protoc --plugin=protoc-gen-go="$plugin_dir/protoc-gen-go" --go_out=. --go_opt=paths=source_relative ./*.proto
