package cluster

import (
	"errors"
	"fmt"
	"log"
	"log/slog"
	"net"
	"strconv"
	"time"

	"github.com/hashicorp/memberlist"
)

// Config is one node's membership settings.
type Config struct {
	// Name is the node's unique name in the cluster (flag --node). It is
	// what placement hashes, so a restarted node should keep it.
	Name string
	// Gossip is the address memberlist binds, UDP and TCP, and advertises
	// to the others (flag --gossip), as IP:PORT. It must be an address the
	// others can reach, so not 0.0.0.0. Port 0 picks a free port;
	// Membership.Local reports it.
	Gossip string
	// Join lists peers' gossip addresses, HOST:PORT (flag --join). They need
	// not be up yet: the node keeps trying them in the background. Empty
	// makes a cluster of one, which others may join.
	Join []string
	// Meta is what the node tells the others about itself.
	Meta NodeMeta
	// Logger receives memberlist's own log lines as well as this package's.
	// Nil means slog.Default().
	Logger *slog.Logger
	// Timing tunes failure detection and gossip; zero fields take
	// LoopbackTiming's values.
	Timing Timing
}

// Timing holds the knobs that decide how fast the cluster notices changes.
// Faster detection costs more packets and raises the risk of declaring a
// slow (paused, overloaded) node dead; a wrongly suspected node refutes the
// suspicion itself as soon as it hears of it, but a wrongly declared dead one
// has to rejoin, and its rooms move twice.
type Timing struct {
	// ProbeInterval is how often a node probes one random peer. Together
	// with ProbeTimeout and the suspicion timeout below it bounds how long
	// a dead node stays a member.
	ProbeInterval time.Duration
	// ProbeTimeout is how long a direct probe waits for its ack before
	// asking other nodes to probe indirectly; it must exceed the network
	// round trip (microseconds on loopback).
	ProbeTimeout time.Duration
	// SuspicionMult scales the time a suspect node has to refute before it
	// is declared dead: SuspicionMult × max(1, log10(N)) × ProbeInterval
	// when other nodes confirm the suspicion.
	SuspicionMult int
	// SuspicionMaxTimeoutMult multiplies that timeout while other nodes
	// that could confirm the suspicion have not yet (when none can, as in a
	// cluster of two, the plain timeout applies).
	SuspicionMaxTimeoutMult int
	// AwarenessMaxMultiplier caps how far memberlist's local health
	// awareness (Lifeguard) stretches a node's probe timeouts, and with
	// them its whole probe round, when it doubts itself: each time it
	// refutes a suspicion about itself or misses the nack of an indirect
	// probe. A member that can receive but not send makes every other
	// member do both continually (its push/pull answers gossip them
	// suspect; it relays no nacks), and at memberlist's default of 8 the
	// healthy majority then probes each other so rarely (up to 1.6 s a
	// probe) that it loses contact with itself and, with it, quorum (see
	// Membership.Reachable). 1 turns the stretching off: probes go round
	// at ProbeInterval whatever the node thinks of its health.
	AwarenessMaxMultiplier int
	// GossipInterval is how often a node sends queued broadcasts (joins,
	// deaths, meta updates) to a few random peers.
	GossipInterval time.Duration
	// PushPullInterval is how often a node swaps its full state with a
	// random peer, repairing whatever gossip missed.
	PushPullInterval time.Duration
	// TCPTimeout bounds joins, push/pull and TCP fallback probes.
	TCPTimeout time.Duration
	// BroadcastTimeout bounds how long SetDraining waits for its update to
	// be gossiped.
	BroadcastTimeout time.Duration
	// JoinRetryMin and JoinRetryMax bound the backoff between attempts to
	// reach the Join peers.
	JoinRetryMin, JoinRetryMax time.Duration
}

// LoopbackTiming is tuned for nodes on one host or one fast LAN, where
// packets are not lost and round trips are sub-millisecond. It detects a
// dead node in about one second (memberlist's DefaultLocalConfig takes
// about five), which leaves most of the 3 s
// failover budget to the handover itself. The parts: a peer is probed
// within a couple of ProbeIntervals, the failed probe takes one
// ProbeInterval including the indirect attempt, and the suspect then has
// SuspicionMult × ProbeInterval = 600 ms to refute — up to
// SuspicionMaxTimeoutMult times that while other members could confirm the
// suspicion but have not yet. It is too eager for a WAN or for hosts that
// pause for long (swap, stop-the-world VMs).
func LoopbackTiming() Timing {
	return Timing{
		ProbeInterval:           200 * time.Millisecond,
		ProbeTimeout:            100 * time.Millisecond,
		SuspicionMult:           3,
		SuspicionMaxTimeoutMult: 2,
		AwarenessMaxMultiplier:  1,
		GossipInterval:          50 * time.Millisecond,
		PushPullInterval:        5 * time.Second,
		TCPTimeout:              time.Second,
		BroadcastTimeout:        time.Second,
		JoinRetryMin:            100 * time.Millisecond,
		JoinRetryMax:            2 * time.Second,
	}
}

// withDefaults fills t's zero fields from LoopbackTiming.
func (t Timing) withDefaults() Timing {
	d := LoopbackTiming()
	setDefault(&t.ProbeInterval, d.ProbeInterval)
	setDefault(&t.ProbeTimeout, d.ProbeTimeout)
	setDefault(&t.SuspicionMult, d.SuspicionMult)
	setDefault(&t.SuspicionMaxTimeoutMult, d.SuspicionMaxTimeoutMult)
	setDefault(&t.AwarenessMaxMultiplier, d.AwarenessMaxMultiplier)
	setDefault(&t.GossipInterval, d.GossipInterval)
	setDefault(&t.PushPullInterval, d.PushPullInterval)
	setDefault(&t.TCPTimeout, d.TCPTimeout)
	setDefault(&t.BroadcastTimeout, d.BroadcastTimeout)
	setDefault(&t.JoinRetryMin, d.JoinRetryMin)
	setDefault(&t.JoinRetryMax, d.JoinRetryMax)
	return t
}

func setDefault[T time.Duration | int](v *T, d T) {
	if *v == 0 {
		*v = d
	}
}

func (t Timing) validate() error {
	switch {
	case t.ProbeInterval < 0, t.ProbeTimeout < 0, t.GossipInterval < 0, t.PushPullInterval < 0,
		t.TCPTimeout < 0, t.BroadcastTimeout < 0, t.JoinRetryMin < 0, t.JoinRetryMax < 0,
		t.SuspicionMult < 0, t.SuspicionMaxTimeoutMult < 0, t.AwarenessMaxMultiplier < 0:
		return errors.New("negative timing")
	case t.ProbeTimeout >= t.ProbeInterval:
		return fmt.Errorf("probe timeout %v not below probe interval %v", t.ProbeTimeout, t.ProbeInterval)
	case t.JoinRetryMin > t.JoinRetryMax:
		return fmt.Errorf("join retry min %v above max %v", t.JoinRetryMin, t.JoinRetryMax)
	}
	return nil
}

// checked returns cfg with defaults filled in and the gossip address
// parsed, or why cfg cannot work.
func (cfg Config) checked() (Config, net.IP, int, error) {
	if cfg.Name == "" {
		return cfg, nil, 0, errors.New("node name is empty")
	}
	host, portStr, err := net.SplitHostPort(cfg.Gossip)
	if err != nil {
		return cfg, nil, 0, fmt.Errorf("gossip address %q: %w", cfg.Gossip, err)
	}
	ip := net.ParseIP(host)
	if ip == nil {
		return cfg, nil, 0, fmt.Errorf("gossip address %q: host must be an IP address", cfg.Gossip)
	}
	if ip.IsUnspecified() {
		return cfg, nil, 0, fmt.Errorf("gossip address %q: it is advertised to peers, so it must be a reachable IP, not %s", cfg.Gossip, ip)
	}
	port, err := strconv.ParseUint(portStr, 10, 16)
	if err != nil {
		return cfg, nil, 0, fmt.Errorf("gossip address %q: port: %w", cfg.Gossip, err)
	}
	for _, j := range cfg.Join {
		if _, _, err := net.SplitHostPort(j); err != nil {
			return cfg, nil, 0, fmt.Errorf("join address %q: %w", j, err)
		}
	}
	cfg.Timing = cfg.Timing.withDefaults()
	if err := cfg.Timing.validate(); err != nil {
		return cfg, nil, 0, fmt.Errorf("timing: %w", err)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return cfg, ip, int(port), nil
}

// memberlistConfig translates a checked Config. It starts from
// DefaultLocalConfig for the knobs Timing does not cover.
func memberlistConfig(cfg Config, ip net.IP, port int, d memberlist.Delegate, ev memberlist.EventDelegate) *memberlist.Config {
	mc := memberlist.DefaultLocalConfig()
	mc.Name = cfg.Name
	mc.BindAddr = ip.String()
	mc.BindPort = port
	mc.AdvertiseAddr = ip.String()
	mc.AdvertisePort = port
	t := cfg.Timing
	mc.ProbeInterval = t.ProbeInterval
	mc.ProbeTimeout = t.ProbeTimeout
	mc.SuspicionMult = t.SuspicionMult
	mc.SuspicionMaxTimeoutMult = t.SuspicionMaxTimeoutMult
	mc.AwarenessMaxMultiplier = t.AwarenessMaxMultiplier
	mc.GossipInterval = t.GossipInterval
	mc.PushPullInterval = t.PushPullInterval
	mc.TCPTimeout = t.TCPTimeout
	// DefaultLocalConfig sends each broadcast only 2×log10(N+1) times, which
	// in a small cluster can miss a node; it then learns of a join only at
	// the next push/pull, seconds later. LAN's 4 costs a few packets more.
	mc.RetransmitMult = 4
	mc.Delegate = d
	mc.Events = ev
	if v, ok := ev.(*view); ok {
		mc.Ping = v.contacts
	}
	mc.Logger = log.New(slogWriter{cfg.Logger}, "", 0)
	return mc
}
