package selection

import (
	"fmt"
	"testing"
	"time"
)

var allStrategies = []string{"single", "region", "intra-region", "split"}

func TestConferenceWhoseBridgeCannotRelayStaysOnIt(t *testing.T) {
	for _, name := range allStrategies {
		t.Run(name, func(t *testing.T) {
			cfg := cfgWith(func(c *Config) { c.SelectionStrategy = name; c.Octo.Enabled = true })
			norelay := newBridge(&cfg, spec{jid: "norelay", stress: 0.95, relay: "-"})
			idle := newBridge(&cfg, spec{jid: "idle"})
			got := mustStrategy(t, cfg).Select([]*Bridge{norelay, idle}, in(norelay, 200), "", t0)
			if got != norelay {
				t.Fatalf("got %s, want norelay", jidOf(got))
			}
		})
	}
}

func TestWithoutOctoConferenceStaysOnItsFirstBridge(t *testing.T) {
	cases := []struct {
		strategy string
		want     string
	}{
		{"single", "full"},
		{"region", "full"},
		{"intra-region", "full"},
		{"split", "idle"}, // split always cascades
	}
	for _, c := range cases {
		t.Run(c.strategy, func(t *testing.T) {
			cfg := cfgWith(func(cf *Config) { cf.SelectionStrategy = c.strategy })
			full := newBridge(&cfg, spec{jid: "full", stress: 0.95})
			idle := newBridge(&cfg, spec{jid: "idle"})
			got := mustStrategy(t, cfg).Select([]*Bridge{full, idle}, in(full, 80), "", t0)
			if jidOf(got) != c.want {
				t.Fatalf("got %s, want %s", jidOf(got), c.want)
			}
		})
	}
}

func TestConferenceOverloadRule(t *testing.T) {
	cases := []struct {
		name         string
		stress       float64
		inConf       bool
		participants int
		added        int
		addedAgo     time.Duration
		perInterval  int
		maxBP        int
		want         bool
	}{
		{name: "idle bridge outside the conference", want: false},
		{name: "bridge overloaded", stress: 0.8, want: true},
		{name: "below max participants", inConf: true, participants: 79, maxBP: 80, want: false},
		{name: "at max participants", inConf: true, participants: 80, maxBP: 80, want: true},
		{name: "max participants off", inConf: true, participants: 500, maxBP: -1, want: false},
		{name: "per-interval cap off by default", inConf: true, added: 1000, perInterval: -1, maxBP: 80, want: false},
		{name: "below per-interval cap", inConf: true, added: 29, perInterval: 30, maxBP: 80, want: false},
		{name: "at per-interval cap", inConf: true, added: 30, perInterval: 30, maxBP: 80, want: true},
		{name: "additions older than the interval", inConf: true, added: 30, addedAgo: time.Minute, perInterval: 30, maxBP: 80, want: false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := cfgWith(func(cf *Config) {
				cf.MaxBridgeParticipants = c.maxBP
				cf.MaxBridgeParticipantsPerInterval = c.perInterval
			})
			p, err := newPolicy(cfg)
			if err != nil {
				t.Fatal(err)
			}
			b := newBridge(&cfg, spec{jid: "jvb", stress: c.stress})
			now := t0.Add(time.Hour)
			var cb *ConferenceBridge
			if c.inConf {
				conf := withAdded(in(b, c.participants), 0, c.added, now.Add(-c.addedAgo))
				cb = &conf[0]
			}
			if got := p.overloadedFor(rankOf(b, now), cb, now); got != c.want {
				t.Fatalf("overloadedFor = %v, want %v", got, c.want)
			}
			if b.Overloaded(now) != (c.stress >= 0.8) {
				t.Fatal("the conference's limits changed the bridge's own state")
			}
		})
	}
}

func TestRegionGroupMembership(t *testing.T) {
	p, err := newPolicy(cfgWith(func(c *Config) {
		c.RegionGroups = [][]string{{"us-east", "us-west"}, {"eu-central", "eu-west"}}
	}))
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		want, bridge string
		in           bool
	}{
		{"us-east", "us-east", true},
		{"us-east", "us-west", true},
		{"us-east", "eu-west", false},
		{"ap-south", "ap-south", true}, // a group of its own
		{"ap-south", "us-east", false},
		{"", "", false},
		{"us-east", "", false},
		{"", "us-east", false},
	}
	for _, c := range cases {
		if got := p.groupOf(c.want).has(c.bridge); got != c.in {
			t.Errorf("groupOf(%q).has(%q) = %v, want %v", c.want, c.bridge, got, c.in)
		}
	}
}

func TestLargeConferenceIsLookedUpThroughAnIndex(t *testing.T) {
	cfg := DefaultConfig()
	var conf ConferenceBridges
	var outside []*Bridge
	for i := range 2 * linearLookupMax {
		b := newBridge(&cfg, spec{jid: fmt.Sprintf("jvb%02d", i)})
		conf = append(conf, ConferenceBridge{Bridge: b, Participants: i})
		outside = append(outside, newBridge(&cfg, spec{jid: fmt.Sprintf("other%02d", i)}))
	}
	v := newConfView(conf)
	if v.index == nil {
		t.Fatal("no index for a large conference")
	}
	for i, cb := range conf {
		if at, got := v.find(cb.Bridge); at != i || got != &conf[i] {
			t.Errorf("find(%s) = %d", cb.Bridge, at)
		}
	}
	for _, b := range outside {
		if at, got := v.find(b); at != -1 || got != nil {
			t.Errorf("find(%s) = %d, want -1", b, at)
		}
	}
}
