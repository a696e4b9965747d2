package cluster

import (
	"cmp"
	"log/slog"
	"net"
	"slices"
	"sync"

	"github.com/hashicorp/memberlist"
)

// view is this node's copy of the live members, kept from memberlist's
// events. memberlist's own Members returns pointers into state it keeps
// mutating under its lock, so reading a member's meta from them races; the
// events hand over each change under that lock instead, and view copies it.
//
// memberlist calls the events with its node lock held, from its packet and
// timer goroutines: nothing here may block or call back into memberlist.
type view struct {
	self     string
	log      *slog.Logger
	contacts *contacts

	// returned is told (without memberlist's lock held) of a member
	// re-added after it was declared dead; set before gossip starts.
	returned func(name, addr string)

	mu      sync.Mutex
	members map[string]Member
	subs    map[chan struct{}]struct{}
	closed  bool
}

var _ memberlist.EventDelegate = (*view)(nil)

func newView(self string, log *slog.Logger) *view {
	return &view{
		self:     self,
		log:      log,
		contacts: newContacts(),
		members:  make(map[string]Member),
		subs:     make(map[chan struct{}]struct{}),
	}
}

// NotifyJoin records a member that became alive.
func (v *view) NotifyJoin(n *memberlist.Node) {
	if n.Name != v.self {
		v.log.Info("member joined", "member", n.Name, "gossip", n.Address())
	}
	v.put(n)
}

// NotifyUpdate records a member's new meta.
func (v *view) NotifyUpdate(n *memberlist.Node) { v.put(n) }

// NotifyLeave drops a member that left or was declared dead.
func (v *view) NotifyLeave(n *memberlist.Node) {
	if n.Name != v.self {
		v.log.Info("member gone", "member", n.Name, "gossip", n.Address())
	}
	v.remove(n.Name)
}

func (v *view) put(n *memberlist.Node) {
	meta, err := decodeMeta(n.Meta)
	if err != nil {
		// Only corruption gets here (see decodeMeta). A member nobody can
		// read must own nothing; every node drops it alike.
		v.log.Warn("ignoring member with unreadable meta", "member", n.Name, "err", err)
		v.remove(n.Name)
		return
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if _, known := v.members[n.Name]; !known && v.contacts.met(n.Name) && v.returned != nil {
		go v.returned(n.Name, n.Address())
	}
	v.members[n.Name] = Member{Name: n.Name, Addr: n.Address(), NodeMeta: meta}
	v.notifyLocked()
}

func (v *view) remove(name string) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if _, ok := v.members[name]; !ok {
		return
	}
	delete(v.members, name)
	v.contacts.lost(name)
	v.notifyLocked()
}

// notifyLocked wakes every subscriber without waiting: a subscriber whose
// channel already holds a token has not looked yet and will see this change
// too when it does.
func (v *view) notifyLocked() {
	for ch := range v.subs {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
}

// heardFrom notes a packet that came from addr, if that is another
// member's gossip address.
func (v *view) heardFrom(addr net.Addr) {
	from := addr.String()
	v.mu.Lock()
	defer v.mu.Unlock()
	for name, m := range v.members {
		if m.Addr == from && name != v.self {
			v.contacts.heardFrom(name)
			return
		}
	}
}

// snapshot returns the live members sorted by name.
func (v *view) snapshot() []Member {
	v.mu.Lock()
	ms := make([]Member, 0, len(v.members))
	for _, m := range v.members {
		ms = append(ms, m)
	}
	v.mu.Unlock()
	slices.SortFunc(ms, func(a, b Member) int { return cmp.Compare(a.Name, b.Name) })
	return ms
}

// alone reports whether no other member is alive.
func (v *view) alone() bool {
	v.mu.Lock()
	defer v.mu.Unlock()
	for name := range v.members {
		if name != v.self {
			return false
		}
	}
	return true
}

func (v *view) subscribe() (<-chan struct{}, func()) {
	ch := make(chan struct{}, 1)
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.closed {
		close(ch)
		return ch, func() {}
	}
	v.subs[ch] = struct{}{}
	return ch, func() {
		v.mu.Lock()
		defer v.mu.Unlock()
		if _, ok := v.subs[ch]; ok {
			delete(v.subs, ch)
			close(ch)
		}
	}
}

// close ends every subscription; later ones get a closed channel.
func (v *view) close() {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.closed = true
	for ch := range v.subs {
		delete(v.subs, ch)
		close(ch)
	}
}
