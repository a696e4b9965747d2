package cluster

import (
	"sync"

	"github.com/hashicorp/memberlist"
)

// metaDelegate gives memberlist this node's meta. memberlist asks for it
// when it announces the node (at start and on UpdateNode) and panics if it
// is over the limit, so only meta that encodeMeta accepted is ever stored.
// The other Delegate hooks (user messages and state exchange) are unused:
// messages between nodes go through protoactor remote.
type metaDelegate struct {
	mu      sync.Mutex
	meta    NodeMeta
	encoded []byte
}

var _ memberlist.Delegate = (*metaDelegate)(nil)

func newMetaDelegate(m NodeMeta) (*metaDelegate, error) {
	d := &metaDelegate{}
	if err := d.set(m); err != nil {
		return nil, err
	}
	return d, nil
}

func (d *metaDelegate) set(m NodeMeta) error {
	b, err := encodeMeta(m)
	if err != nil {
		return err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.meta, d.encoded = m, b
	return nil
}

func (d *metaDelegate) get() NodeMeta {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.meta
}

// NodeMeta returns the encoded meta. memberlist keeps the slice; set
// replaces it rather than writing into it.
func (d *metaDelegate) NodeMeta(limit int) []byte {
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(d.encoded) > limit {
		return nil // unreachable: set checks against MaxMetaSize
	}
	return d.encoded
}

func (d *metaDelegate) NotifyMsg([]byte)                           {}
func (d *metaDelegate) GetBroadcasts(overhead, limit int) [][]byte { return nil }
func (d *metaDelegate) LocalState(join bool) []byte                { return nil }
func (d *metaDelegate) MergeRemoteState(buf []byte, join bool)     {}
