package selection

import (
	"testing"
	"time"
)

func TestIntraRegionKeepsConferenceInItsRegion(t *testing.T) {
	cfg := cfgWith(func(c *Config) {
		c.SelectionStrategy = "IntraRegionBridgeSelectionStrategy"
		c.Octo.Enabled = true
		c.MaxBridgeParticipants = 10
	})
	s := mustStrategy(t, cfg)
	euA := newBridge(&cfg, spec{jid: "eu-a", stress: 0.2, region: "eu"})
	euB := newBridge(&cfg, spec{jid: "eu-b", stress: 0.4, region: "eu"})
	euHot := newBridge(&cfg, spec{jid: "eu-hot", stress: 0.85, region: "eu"})
	usA := newBridge(&cfg, spec{jid: "us-a", stress: 0.0, region: "us"})
	usHot := newBridge(&cfg, spec{jid: "us-hot", stress: 0.9, region: "us"})
	all := []*Bridge{euA, euB, euHot, usA, usHot}
	cases := []struct {
		name    string
		bridges []*Bridge
		conf    ConferenceBridges
		region  string
		want    string
	}{
		{"initial: free bridge in the participant's region", all, nil, "eu", "eu-a"},
		{"initial: unknown region, least loaded", all, nil, "", "us-a"},
		{"initial: region all overloaded, least loaded", []*Bridge{usHot, euA}, nil, "us", "eu-a"},
		{"the conference's bridge, whatever the participant's region", all, in(euB, 3), "us", "eu-b"},
		{"the conference's bridge is full: another in its region", all, in(euA, 10), "us", "eu-b"},
		{"the conference's bridge is overloaded: another in its region", all, in(euHot, 3), "eu", "eu-a"},
		{"everything in the region busy: least loaded conference bridge", []*Bridge{euHot, usA}, in(euHot, 3), "eu", "eu-hot"},
		{"nothing of the conference in the region: none", []*Bridge{usA}, in(euA, 3), "eu", "<nil>"},
	}
	for _, c := range cases {
		if got := s.Select(c.bridges, c.conf, c.region, t0); jidOf(got) != c.want {
			t.Errorf("%s: got %s, want %s", c.name, jidOf(got), c.want)
		}
	}
}

func TestIntraRegionMaxParticipantsPerInterval(t *testing.T) {
	const limit = 10
	now := t0.Add(time.Hour)
	cfg := cfgWith(func(c *Config) {
		c.SelectionStrategy = "intra-region"
		c.Octo.Enabled = true
		c.MaxBridgeParticipantsPerInterval = limit
	})
	s := mustStrategy(t, cfg)
	b1 := newBridge(&cfg, spec{jid: "bridge1", stress: 0, region: "region"})
	b2 := newBridge(&cfg, spec{jid: "bridge2", stress: 0.1, region: "region"})
	if got := s.Select([]*Bridge{b1, b2}, withAdded(in(b1, 1), 0, limit-1, now), "region", now); got != b1 {
		t.Errorf("below the limit: got %s, want bridge1", jidOf(got))
	}
	if got := s.Select([]*Bridge{b1, b2}, withAdded(in(b1, 1), 0, limit, now), "region", now); got != b2 {
		t.Errorf("at the limit: got %s, want bridge2", jidOf(got))
	}
}

func TestIntraRegionConferenceWithoutRegionStaysAmongBridgesWithoutRegion(t *testing.T) {
	cfg := cfgWith(func(c *Config) { c.SelectionStrategy = "intra-region"; c.Octo.Enabled = true })
	s := mustStrategy(t, cfg)
	hot := newBridge(&cfg, spec{jid: "hot", stress: 0.9})
	cool := newBridge(&cfg, spec{jid: "cool", stress: 0.1})
	eu := newBridge(&cfg, spec{jid: "eu", stress: 0.0, region: "eu"})
	if got := s.Select([]*Bridge{hot, cool, eu}, in(hot, 3), "", t0); got != cool {
		t.Errorf("got %s, want cool", jidOf(got))
	}
}
