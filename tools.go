//go:build tools

// Package tools pins the code generators the module uses, so go.sum covers
// them and `go generate` builds them at the pinned version.
package tools

import _ "google.golang.org/protobuf/cmd/protoc-gen-go"
