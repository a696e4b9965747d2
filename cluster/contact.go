package cluster

import (
	"sync"
	"time"

	"github.com/hashicorp/memberlist"
)

// contacts remembers when this node last heard directly from each member:
// a probe it sent was acknowledged, or the member joined. Membership
// (alive or dead) is what the whole cluster agrees on, slowly; contact is
// what this node alone can tell quickly, which is what a node needs to
// decide it is cut off (see Membership.Reachable).
type contacts struct {
	mu   sync.Mutex
	last map[string]time.Time
	now  func() time.Time
}

var _ memberlist.PingDelegate = (*contacts)(nil)

func newContacts() *contacts {
	return &contacts{last: make(map[string]time.Time), now: time.Now}
}

func (c *contacts) touch(name string) {
	c.mu.Lock()
	c.last[name] = c.now()
	c.mu.Unlock()
}

func (c *contacts) forget(name string) {
	c.mu.Lock()
	delete(c.last, name)
	c.mu.Unlock()
}

// since returns when name was last heard from.
func (c *contacts) since(name string) (time.Time, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	t, ok := c.last[name]
	return t, ok
}

// AckPayload is empty: an ack is all contact needs.
func (c *contacts) AckPayload() []byte { return nil }

// NotifyPingComplete records an acknowledged probe.
func (c *contacts) NotifyPingComplete(other *memberlist.Node, _ time.Duration, _ []byte) {
	c.touch(other.Name)
}
