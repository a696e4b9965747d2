package cluster

import (
	"errors"
	"strings"
	"testing"
)

func TestMetaRoundTrips(t *testing.T) {
	for _, m := range []NodeMeta{
		{},
		{Remote: "127.0.0.1:8090", HTTP: "127.0.0.1:8888"},
		{Remote: "127.0.0.1:8090", Draining: true},
		{HTTP: strings.Repeat("h", 300)},
		{Remote: "127.0.0.1:8090", ClusterSize: 3},
		{ClusterSize: 300},
		{Remote: "127.0.0.1:8090", ClusterSize: 3, Liveness: "127.0.0.1:8091"},
	} {
		b, err := encodeMeta(m)
		if err != nil {
			t.Fatalf("encode %+v: %v", m, err)
		}
		got, err := decodeMeta(b)
		if err != nil {
			t.Fatalf("decode %+v: %v", m, err)
		}
		if got != m {
			t.Fatalf("round trip: got %+v, want %+v", got, m)
		}
	}
}

func TestMetaIsCompact(t *testing.T) {
	b, err := encodeMeta(NodeMeta{Remote: "127.0.0.1:8090", HTTP: "127.0.0.1:8888", Draining: true, ClusterSize: 3})
	if err != nil {
		t.Fatal(err)
	}
	if want := 2 + 1 + 14 + 1 + 14 + 1 + 1; len(b) != want {
		t.Fatalf("encoded in %d bytes, want %d", len(b), want)
	}
}

func TestMetaUpToTheLimitIsAcceptedAndBeyondRefused(t *testing.T) {
	// Header 2 + Remote (2-byte length + 505) + HTTP (1-byte length) +
	// cluster size (1 byte) + liveness (1-byte length) = 512; one more
	// byte of Remote is beyond.
	fits := NodeMeta{Remote: strings.Repeat("r", 505)}
	b, err := encodeMeta(fits)
	if err != nil {
		t.Fatalf("meta of exactly %d bytes refused: %v", MaxMetaSize, err)
	}
	if len(b) != MaxMetaSize {
		t.Fatalf("encoded %d bytes, want %d", len(b), MaxMetaSize)
	}
	_, err = encodeMeta(NodeMeta{Remote: fits.Remote + "r"})
	if !errors.Is(err, ErrMetaTooLarge) {
		t.Fatalf("meta of %d bytes: err %v, want ErrMetaTooLarge", MaxMetaSize+1, err)
	}
}

// A later version may append fields; this version must still read the
// ones it knows, or mixed-version clusters would disagree on placement.
func TestMetaDecodeIgnoresWhatALaterVersionAppends(t *testing.T) {
	b, err := encodeMeta(NodeMeta{Remote: "127.0.0.1:1", Draining: true, Liveness: "127.0.0.1:2"})
	if err != nil {
		t.Fatal(err)
	}
	b[1] |= 1 << 5
	b = appendString(b, "some future field")
	got, err := decodeMeta(b)
	if err != nil {
		t.Fatal(err)
	}
	if want := (NodeMeta{Remote: "127.0.0.1:1", Draining: true, Liveness: "127.0.0.1:2"}); got != want {
		t.Fatalf("got %+v, want %+v", got, want)
	}
}

func TestMetaDecodeRefusesGarbage(t *testing.T) {
	for name, b := range map[string][]byte{
		"empty":           nil,
		"unknown version": {9, 0, 0, 0},
		"truncated":       {metaVersion1, 0, 5, 'a'},
		"bad varint":      {metaVersion1, 0, 0xff},
	} {
		if _, err := decodeMeta(b); err == nil {
			t.Errorf("%s: decoded without error", name)
		}
	}
}

// Meta comes from other members' gossip: whatever it holds, decoding
// returns an error or a meta that encodes and decodes to itself.
func FuzzDecodeMeta(f *testing.F) {
	for _, m := range []NodeMeta{{}, {Remote: "127.0.0.1:8090", HTTP: "127.0.0.1:8888", Draining: true, ClusterSize: 3, Liveness: "127.0.0.1:8091"}} {
		b, err := encodeMeta(m)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte{metaVersion1, 0, 0, 0, 0x80})
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := decodeMeta(b)
		if err != nil {
			return
		}
		again, err := encodeMeta(m)
		if err != nil {
			if errors.Is(err, ErrMetaTooLarge) {
				return // decoded from beyond the limit memberlist enforces
			}
			t.Fatalf("decoded %+v does not encode: %v", m, err)
		}
		if got, err := decodeMeta(again); err != nil || got != m {
			t.Fatalf("decoded %+v, re-encoded decodes to %+v (%v)", m, got, err)
		}
	})
}
