package cluster

import (
	"net"
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

// met records a member joining: contact, unless it is coming back after
// being declared dead. A member can be re-added by gossip from a third
// node (or by stale messages) while this node still cannot reach it; only
// an acknowledged probe counts then. It reports whether the member came
// back, for the caller to probe it at once.
func (c *contacts) met(name string) (returning bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, before := c.last[name]; before {
		return true
	}
	c.last[name] = c.now()
	return false
}

// lost records a member declared dead: no contact until it answers again.
func (c *contacts) lost(name string) {
	c.mu.Lock()
	c.last[name] = time.Time{}
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

// probeReturned pings a member re-added after it was declared dead, so that
// contact with it is known at once rather than at its next turn in the
// probe round: after a partition heals, a node must not go on counting its
// peers unreachable (and stop driving conferences) for want of a probe.
// A member re-added by stale gossip does not answer and stays unreachable.
func (m *Membership) probeReturned(name, addr string) {
	m.life.Lock()
	if m.shutDown {
		m.life.Unlock()
		return
	}
	m.probes.Add(1)
	m.life.Unlock()
	defer m.probes.Done()
	udp, err := net.ResolveUDPAddr("udp", addr)
	if err != nil {
		return
	}
	if _, err := m.ml.Ping(name, udp); err == nil {
		m.view.contacts.touch(name)
	}
}
