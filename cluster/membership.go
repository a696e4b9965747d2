package cluster

import (
	"errors"
	"fmt"
	"log/slog"
	"math"
	"sync"
	"time"

	"github.com/hashicorp/memberlist"
)

// ErrClosed means the node has left the cluster or shut its membership down.
var ErrClosed = errors.New("cluster membership closed")

// Membership is this node's place in the cluster: it gossips with the
// others through memberlist, keeps the list of live members with their meta,
// and tells subscribers when that list changes.
type Membership struct {
	ml     *memberlist.Memberlist
	view   *view
	meta   *metaDelegate
	log    *slog.Logger
	timing Timing
	name   string
	addr   string

	// life serialises Leave, SetDraining and Shutdown: memberlist panics
	// on Leave after Shutdown.
	life     sync.Mutex
	left     bool
	shutDown bool

	stopJoin     chan struct{}
	stopJoinOnce sync.Once
	joining      sync.WaitGroup
	probes       sync.WaitGroup // probeReturned calls
}

// Start binds the gossip address and starts gossiping. It does not wait for
// the Join peers: the node keeps trying them in the background (see Config),
// so nodes may be started in any order. Subscribe to learn when they join.
func Start(cfg Config) (*Membership, error) {
	cfg, ip, port, err := cfg.checked()
	if err != nil {
		return nil, fmt.Errorf("cluster config: %w", err)
	}
	meta, err := newMetaDelegate(cfg.Meta)
	if err != nil {
		return nil, fmt.Errorf("node %s: %w", cfg.Name, err)
	}
	log := cfg.Logger.With("node", cfg.Name)
	v := newView(cfg.Name, log)
	m := &Membership{
		view:     v,
		meta:     meta,
		log:      log,
		timing:   cfg.Timing,
		name:     cfg.Name,
		stopJoin: make(chan struct{}),
	}
	v.returned = m.probeReturned
	if cfg.Meta.Liveness != "" {
		// A node that offers the proof takes part in it: it watches the
		// others' liveness addresses too.
		v.liveness = newLivenessWatch(v.proven)
	}
	mc := memberlistConfig(cfg, ip, port, meta, v)
	transport, err := newHearingTransport(ip, port, mc.Logger, v.heardFrom)
	if err != nil {
		return nil, fmt.Errorf("start gossip on %s: %w", cfg.Gossip, err)
	}
	mc.Transport = transport
	if port == 0 {
		mc.BindPort = transport.GetAutoBindPort()
		mc.AdvertisePort = mc.BindPort
	}
	ml, err := memberlist.Create(mc)
	if err != nil {
		if v.liveness != nil {
			v.liveness.close()
		}
		_ = transport.Shutdown()
		return nil, fmt.Errorf("start gossip on %s: %w", cfg.Gossip, err)
	}
	m.ml, m.addr = ml, ml.LocalNode().Address()
	peers := m.others(cfg.Join)
	log.Info("cluster membership started", "gossip", m.addr, "join", peers)
	if len(peers) > 0 {
		m.joining.Add(1)
		go m.joinLoop(peers)
	}
	return m, nil
}

// Reachable counts the other members this node heard from directly within
// the last d: an acknowledged probe, or their joining. A node that reaches
// fewer than a quorum knows it is cut off well before the cluster agrees
// anybody is dead: with probes every Timing.ProbeInterval going round the
// members, each is probed every (members-1) intervals.
func (m *Membership) Reachable(d time.Duration) int {
	cutoff := m.view.contacts.now().Add(-d)
	n := 0
	for _, mem := range m.view.snapshot() {
		if mem.Name == m.name {
			continue
		}
		if t, ok := m.view.contacts.lastHeard(mem.Name); ok && t.After(cutoff) {
			n++
		}
	}
	return n
}

// Contacts returns this node's contact with each other live member (see
// Contact).
func (m *Membership) Contacts() map[string]Contact {
	out := make(map[string]Contact)
	for _, mem := range m.view.snapshot() {
		if mem.Name != m.name {
			out[mem.Name] = m.view.contacts.contact(mem.Name)
		}
	}
	return out
}

// Heard is when name last sent this node anything over UDP, whether it is
// a member now or was dropped from the membership since (zero: never, or
// not since it was dropped).
func (m *Membership) Heard(name string) time.Time {
	return m.view.contacts.contact(name).Heard
}

// FailureTimeout is the longest a member that stopped answering stays
// alive in memberlist's eyes, given the current number of members: it
// waits for its turn in the probe round, the failed probe takes a probe
// interval, and the suspicion lasts at most SuspicionMaxTimeoutMult times
// memberlist's suspicion timeout (SuspicionMult × max(1, log10 N) probe
// intervals). A member silent for longer would have been declared dead but
// for something else keeping it alive (a TCP fallback probe that gets
// through a one-way partition, say).
func (m *Membership) FailureTimeout() time.Duration {
	return failureTimeout(m.timing, len(m.view.snapshot()))
}

func failureTimeout(t Timing, members int) time.Duration {
	n := max(members, 2)
	scale := max(1, math.Log10(float64(n)))
	suspicion := time.Duration(float64(t.SuspicionMult) * scale * float64(t.ProbeInterval))
	return time.Duration(n-1)*t.ProbeInterval + t.ProbeInterval + time.Duration(t.SuspicionMaxTimeoutMult)*suspicion
}

// Exited names the members whose process is proven gone (see
// liveness.go) and that memberlist still lists: they are not among
// Members, and nothing they held needs waiting for.
func (m *Membership) Exited() []string { return m.view.exited() }

// Local returns this node as the others see it, with its bound gossip
// address (useful when Config.Gossip asked for port 0).
func (m *Membership) Local() Member {
	return Member{Name: m.name, Addr: m.addr, NodeMeta: m.meta.get()}
}

// Members returns the live members, this node included until it leaves,
// sorted by name. Suspected members stay in the list until they are
// declared dead, so placement does not move rooms on a mere suspicion.
// After Shutdown it returns the last list seen.
func (m *Membership) Members() []Member { return m.view.snapshot() }

// Subscribe returns a channel that receives a value after the member list
// changes (a join, a departure, a meta change). Notifications coalesce: one
// value may stand for many changes, so a subscriber reads Members afresh
// rather than counting. They never block memberlist, however slow the
// subscriber. Subscribe before reading Members, so that no change falls in
// between. The channel is closed by cancel or Shutdown.
func (m *Membership) Subscribe() (changes <-chan struct{}, cancel func()) {
	return m.view.subscribe()
}

// SetDraining marks this node as draining (or not) and gossips it. A
// draining node stays a member but owns nothing new: Owner and Ranked pass
// it over. SetDraining waits up to Timing.BroadcastTimeout for the update
// to go out; if it times out the change is still made locally and still
// spreads by gossip, but the others may not have it yet.
func (m *Membership) SetDraining(draining bool) error {
	m.life.Lock()
	defer m.life.Unlock()
	if m.left || m.shutDown {
		return fmt.Errorf("set draining=%t: %w", draining, ErrClosed)
	}
	meta := m.meta.get()
	meta.Draining = draining
	if err := m.meta.set(meta); err != nil {
		return fmt.Errorf("set draining=%t: %w", draining, err)
	}
	if err := m.ml.UpdateNode(m.timing.BroadcastTimeout); err != nil {
		return fmt.Errorf("gossip draining=%t: %w", draining, err)
	}
	m.log.Info("draining set", "draining", draining)
	return nil
}

// Leave tells the others this node is going, so that they drop it at once
// instead of waiting for failure detection, and stops trying to join. It
// waits up to timeout for the message to go out. The node keeps gossiping
// (so the message spreads) until Shutdown, which should follow.
func (m *Membership) Leave(timeout time.Duration) error {
	m.life.Lock()
	defer m.life.Unlock()
	if m.shutDown {
		return fmt.Errorf("leave cluster: %w", ErrClosed)
	}
	m.stopJoining()
	if m.left {
		return nil
	}
	m.left = true
	start := time.Now()
	if err := m.ml.Leave(timeout); err != nil {
		return fmt.Errorf("leave cluster: %w", err)
	}
	m.log.Info("left cluster", "took", time.Since(start))
	return nil
}

// Shutdown stops gossip and closes every subscription. Without a Leave
// first, the others see this node as failed, after their failure detection
// timeout. It waits for a Leave in progress. Calling it more than once is
// harmless.
func (m *Membership) Shutdown() error {
	m.life.Lock()
	defer m.life.Unlock()
	if m.shutDown {
		return nil
	}
	m.shutDown = true
	m.stopJoining()
	err := m.ml.Shutdown()
	m.probes.Wait()
	if m.view.liveness != nil {
		m.view.liveness.close()
	}
	m.view.close()
	if err != nil {
		return fmt.Errorf("shut down gossip: %w", err)
	}
	m.log.Info("cluster membership shut down")
	return nil
}
