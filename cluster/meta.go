package cluster

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/hashicorp/memberlist"
)

// NodeMeta is what a node tells the others about itself through gossip.
// It rides in every memberlist alive message, so it is kept small: anything
// bigger belongs in messages between nodes, not here.
type NodeMeta struct {
	// Remote is the node's protoactor remote address, HOST:PORT.
	Remote string
	// HTTP is the node's HTTP API address, HOST:PORT.
	HTTP string
	// Draining marks a node that is handing its conferences over before it
	// leaves; placement gives it nothing new.
	Draining bool
	// ClusterSize is the size of the cluster the node was configured for
	// (0: not told, an older node). Nodes that disagree about it must not
	// drive conferences: they would not agree about quorum.
	ClusterSize int
	// Liveness is the address of the node's liveness listener, HOST:PORT
	// (see liveness.go; empty: none, the others wait for failure
	// detection).
	Liveness string
}

// MaxMetaSize is the largest encoded NodeMeta memberlist accepts. memberlist
// panics beyond it, so this package checks first and returns ErrMetaTooLarge.
const MaxMetaSize = memberlist.MetaMaxSize

// ErrMetaTooLarge means an encoded NodeMeta would exceed MaxMetaSize.
var ErrMetaTooLarge = errors.New("node meta too large")

// The encoding is a version byte, a flags byte, then each string as a
// uvarint length and its bytes. Within version 1, fields are only ever
// appended and flag bits only ever added; decoders ignore what they do not
// know. Nodes of two versions then read each other during a rolling restart
// — a node that could not read another's meta would disagree with it about
// who owns what.
const (
	metaVersion1  = 1
	metaDraining  = 1 << 0
	metaHeaderLen = 2
)

// encodeMeta encodes m, refusing anything memberlist would not carry.
func encodeMeta(m NodeMeta) ([]byte, error) {
	clusterSize := uint64(max(m.ClusterSize, 0))
	size := metaHeaderLen + stringSize(m.Remote) + stringSize(m.HTTP) + len(binary.AppendUvarint(nil, clusterSize)) + stringSize(m.Liveness)
	if size > MaxMetaSize {
		return nil, fmt.Errorf("%w: %d bytes, limit %d", ErrMetaTooLarge, size, MaxMetaSize)
	}
	var flags byte
	if m.Draining {
		flags |= metaDraining
	}
	b := make([]byte, 0, size)
	b = append(b, metaVersion1, flags)
	b = appendString(b, m.Remote)
	b = appendString(b, m.HTTP)
	b = binary.AppendUvarint(b, clusterSize)
	b = appendString(b, m.Liveness)
	return b, nil
}

// decodeMeta reads what encodeMeta wrote, or a later version-1 encoding.
func decodeMeta(b []byte) (NodeMeta, error) {
	if len(b) < metaHeaderLen {
		return NodeMeta{}, fmt.Errorf("node meta: %d bytes, too short", len(b))
	}
	if b[0] != metaVersion1 {
		return NodeMeta{}, fmt.Errorf("node meta: unknown version %d", b[0])
	}
	m := NodeMeta{Draining: b[1]&metaDraining != 0}
	rest := b[metaHeaderLen:]
	var err error
	if m.Remote, rest, err = readString(rest); err != nil {
		return NodeMeta{}, fmt.Errorf("node meta remote address: %w", err)
	}
	if m.HTTP, rest, err = readString(rest); err != nil {
		return NodeMeta{}, fmt.Errorf("node meta http address: %w", err)
	}
	if len(rest) > 0 {
		// Appended later in version 1: absent from older nodes' meta.
		size, n := binary.Uvarint(rest)
		if n <= 0 || size > 1<<16 {
			return NodeMeta{}, errors.New("node meta cluster size: malformed")
		}
		m.ClusterSize = int(size)
		rest = rest[n:]
	}
	if len(rest) > 0 {
		if m.Liveness, _, err = readString(rest); err != nil {
			return NodeMeta{}, fmt.Errorf("node meta liveness address: %w", err)
		}
	}
	return m, nil
}

func stringSize(s string) int {
	return varintLen(uint64(len(s))) + len(s)
}

func varintLen(x uint64) int {
	n := 1
	for x >= 0x80 {
		x >>= 7
		n++
	}
	return n
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func readString(b []byte) (string, []byte, error) {
	n, k := binary.Uvarint(b)
	if k <= 0 {
		return "", nil, errors.New("bad length")
	}
	b = b[k:]
	if n > uint64(len(b)) {
		return "", nil, fmt.Errorf("length %d beyond the %d bytes left", n, len(b))
	}
	return string(b[:n]), b[n:], nil
}
