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
	// liveness watches the other members' liveness addresses (nil: not
	// at all); set before gossip starts.
	liveness *livenessWatch

	mu sync.Mutex
	// members are the live members as memberlist has them.
	members map[string]Member
	// gone are members whose process is proven gone (liveness.go), by
	// name, with the liveness address that proved it: left out of the
	// live members until memberlist drops them too, or they come back.
	gone map[string]string
	// departed are members memberlist dropped, by gossip address: what
	// they still send is heard (Membership.Heard), as a partition that
	// cuts them off from this node alone may leave them a majority.
	departed map[string]string
	subs     map[chan struct{}]struct{}
	closed   bool
}

var _ memberlist.EventDelegate = (*view)(nil)

func newView(self string, log *slog.Logger) *view {
	return &view{
		self:     self,
		log:      log,
		contacts: newContacts(),
		members:  make(map[string]Member),
		gone:     make(map[string]string),
		departed: make(map[string]string),
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
	for addr, name := range v.departed {
		if name == n.Name || addr == n.Address() {
			delete(v.departed, addr)
		}
	}
	if addr, gone := v.gone[n.Name]; gone && addr != meta.Liveness {
		delete(v.gone, n.Name) // a new process: its own liveness address
	}
	if v.liveness != nil && n.Name != v.self {
		v.liveness.follow(n.Name, meta.Liveness)
	}
	v.notifyLocked()
}

func (v *view) remove(name string) {
	v.mu.Lock()
	defer v.mu.Unlock()
	m, ok := v.members[name]
	if !ok {
		return
	}
	if len(v.departed) < maxDeparted {
		v.departed[m.Addr] = name
	}
	delete(v.members, name)
	delete(v.gone, name)
	if v.liveness != nil {
		v.liveness.forget(name)
	}
	v.contacts.lost(name)
	v.notifyLocked()
}

// proven takes what a member's liveness address proved: its process is
// gone, or (after it was found gone) back, a new process on the same
// address. A proof from an address the member no longer has is old news.
func (v *view) proven(name, addr string, gone bool) {
	v.mu.Lock()
	defer v.mu.Unlock()
	m, ok := v.members[name]
	if !ok || m.Liveness != addr {
		return
	}
	_, wasGone := v.gone[name]
	switch {
	case gone && !wasGone:
		v.log.Warn("member's process is gone: its liveness address refuses connections", "member", name, "liveness", addr)
		v.gone[name] = addr
		v.contacts.lost(name)
	case !gone && wasGone:
		v.log.Warn("member back: its liveness address holds a connection again", "member", name, "liveness", addr)
		delete(v.gone, name)
	default:
		return
	}
	v.notifyLocked()
}

// exited returns the members proven gone that memberlist still lists.
func (v *view) exited() []string {
	v.mu.Lock()
	defer v.mu.Unlock()
	out := make([]string, 0, len(v.gone))
	for name := range v.gone {
		out = append(out, name)
	}
	slices.Sort(out)
	return out
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
	if name, ok := v.departed[from]; ok {
		v.contacts.heardFrom(name)
	}
}

// maxDeparted bounds the departed members a view keeps hearing.
const maxDeparted = 64

// snapshot returns the live members sorted by name: memberlist's, less
// those proven gone.
func (v *view) snapshot() []Member {
	v.mu.Lock()
	ms := make([]Member, 0, len(v.members))
	for name, m := range v.members {
		if _, gone := v.gone[name]; !gone {
			ms = append(ms, m)
		}
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
