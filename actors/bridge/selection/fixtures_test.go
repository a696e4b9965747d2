package selection

import (
	"strconv"
	"testing"
	"time"

	"focal/xmpp"
)

// t0 is the fake clock's start; tests pass t0.Add(…) as now.
var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// spec describes a test bridge. Drain defaults to false here (a bridge that
// reported drain=false), unlike a bridge before its first presence.
type spec struct {
	jid      string
	stress   float64
	region   string
	relay    string // "-" for none; empty means the JID
	version  string
	drain    bool
	graceful bool
	shutdown bool
}

func (s spec) stats() []Stat {
	relay := s.relay
	switch relay {
	case "":
		relay = s.jid
	case "-":
		relay = ""
	}
	st := []Stat{
		{xmpp.StatStressLevel, strconv.FormatFloat(s.stress, 'g', -1, 64)},
		{xmpp.StatRegion, s.region},
		{xmpp.StatRelayID, relay},
		{xmpp.StatVersion, s.version},
		{xmpp.StatDrain, strconv.FormatBool(s.drain)},
	}
	if s.graceful {
		st = append(st, Stat{xmpp.StatGracefulShutdown, "true"})
	}
	if s.shutdown {
		st = append(st, Stat{xmpp.StatShuttingDown, "true"})
	}
	return st
}

// newBridge builds a standalone bridge judged by cfg.
func newBridge(cfg *Config, s spec) *Bridge {
	b := NewBridge(s.jid, cfg)
	for _, st := range s.stats() {
		b.stats.Apply(st)
	}
	return b
}

// newSelector returns a Selector for cfg holding the given bridges.
func newSelector(t testing.TB, cfg Config, specs ...spec) *Selector {
	t.Helper()
	s, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	for _, sp := range specs {
		s.Update(sp.jid, t0, sp.stats()...)
	}
	return s
}

// in lists bridges a conference uses, with participant counts.
func in(pairs ...any) ConferenceBridges {
	var conf ConferenceBridges
	for i := 0; i < len(pairs); i += 2 {
		conf = append(conf, ConferenceBridge{Bridge: pairs[i].(*Bridge), Participants: pairs[i+1].(int)})
	}
	return conf
}

// withAdded records n additions by the conference to its entry i at now.
func withAdded(conf ConferenceBridges, i, n int, now time.Time) ConferenceBridges {
	for range n {
		conf[i].Added.Add(now, time.Hour)
	}
	return conf
}

func jidOf(b *Bridge) string {
	if b == nil {
		return "<nil>"
	}
	return b.JID()
}

// cfgWith returns DefaultConfig changed by fn.
func cfgWith(fn func(*Config)) Config {
	c := DefaultConfig()
	if fn != nil {
		fn(&c)
	}
	return c
}

// mustStrategy builds the strategy cfg names.
func mustStrategy(t testing.TB, cfg Config) Strategy {
	t.Helper()
	s, _, err := newStrategy(cfg)
	if err != nil {
		t.Fatalf("newStrategy: %v", err)
	}
	return s
}
