// Package focalpb holds the protobuf messages actors exchange, locally and
// between nodes. The .pb.go files are generated and committed; regenerate
// with `go generate ./proto/` (needs protoc from Debian's protobuf-compiler).
package focalpb

//go:generate sh generate.sh
