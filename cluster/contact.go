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
	// since is when the unbroken run of contacts that last ends began: a
	// gap of more than ContactGap between two contacts starts a new one.
	since map[string]time.Time
	// heard is when a packet of any kind last came from each member (or
	// a contact): it can send to this node, which is less than contact.
	heard map[string]time.Time
	now   func() time.Time
}

// ContactGap is the longest silence between two contacts with a member
// that still counts as unbroken contact. Probes go round the members, one
// every probe interval (200 ms on loopback), so in a small cluster a
// member is probed every few hundred milliseconds: a longer gap means
// probes went unanswered. It is shorter than a second so that a link cut
// for a second at a time never looks steady.
const ContactGap = 800 * time.Millisecond

var _ memberlist.PingDelegate = (*contacts)(nil)

func newContacts() *contacts {
	return &contacts{last: make(map[string]time.Time), since: make(map[string]time.Time), heard: make(map[string]time.Time), now: time.Now}
}

func (c *contacts) touch(name string) {
	c.mu.Lock()
	c.touchLocked(name)
	c.mu.Unlock()
}

func (c *contacts) touchLocked(name string) {
	now := c.now()
	if last := c.last[name]; last.IsZero() || now.Sub(last) > ContactGap {
		c.since[name] = now
	}
	c.last[name] = now
	c.heard[name] = now
}

// heardFrom records a packet from a member.
func (c *contacts) heardFrom(name string) {
	c.mu.Lock()
	c.heard[name] = c.now()
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
	c.touchLocked(name)
	return false
}

// lost records a member declared dead: no contact until it answers again.
func (c *contacts) lost(name string) {
	c.mu.Lock()
	c.last[name] = time.Time{}
	c.since[name] = time.Time{}
	c.heard[name] = time.Time{}
	c.mu.Unlock()
}

// lastHeard returns when name was last heard from.
func (c *contacts) lastHeard(name string) (time.Time, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	t, ok := c.last[name]
	return t, ok
}

// contact returns what is known of this node's contact with name.
func (c *contacts) contact(name string) Contact {
	c.mu.Lock()
	defer c.mu.Unlock()
	return Contact{Last: c.last[name], Since: c.since[name], Heard: c.heard[name]}
}

// Contact is what a node knows of its own exchanges with one member: not
// what the cluster agrees on, but whether the two can reach each other
// both ways, which an acknowledged probe proves.
type Contact struct {
	// Last is the latest contact: an acknowledged probe, or the member
	// joining. Zero: none since it was (re-)added after being declared
	// dead.
	Last time.Time
	// Since is when the unbroken run of contacts (no gap over ContactGap)
	// that Last ends began.
	Since time.Time
	// Heard is when the member last sent this node anything over UDP (a
	// probe of its own, a late ack, gossip), or Last if later: it shows
	// only that the member can send here. Zero: nothing since it was
	// (re-)added after being declared dead.
	Heard time.Time
}

// HeardWithin says whether the member sent this node anything within d of
// now.
func (c Contact) HeardWithin(now time.Time, d time.Duration) bool {
	return !c.Heard.IsZero() && now.Sub(c.Heard) <= d
}

// Within says whether the member was heard from within d of now.
func (c Contact) Within(now time.Time, d time.Duration) bool {
	return !c.Last.IsZero() && now.Sub(c.Last) <= d
}

// SteadyFor says whether contact has been unbroken for at least d and is
// still fresh (within ContactGap of now).
func (c Contact) SteadyFor(now time.Time, d time.Duration) bool {
	return c.Within(now, ContactGap) && now.Sub(c.Since) >= d
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
