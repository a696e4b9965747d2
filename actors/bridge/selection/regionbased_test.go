package selection

import (
	"testing"
	"time"
)

// regionGrid has a low (0), medium (0.3) and high (0.9, overloaded) stress
// bridge in each of five regions, named "<region>/<level>".
type regionGrid map[string]*Bridge

var gridRegions = []string{"ap-south", "eu-central", "eu-west", "us-east", "us-west"}

func newRegionGrid(cfg *Config) (regionGrid, []*Bridge) {
	g := regionGrid{}
	var all []*Bridge
	for _, r := range gridRegions {
		for level, stress := range map[string]float64{"low": 0, "medium": 0.3, "high": 0.9} {
			b := newBridge(cfg, spec{jid: r + "/" + level, stress: stress, region: r})
			g[r+"/"+level] = b
			all = append(all, b)
		}
	}
	return g, all
}

// without returns the bridges not in region.
func without(all []*Bridge, region string) []*Bridge {
	var out []*Bridge
	for _, b := range all {
		if b.Region() != region {
			out = append(out, b)
		}
	}
	return out
}

func regionConfig(fn func(*Config)) Config {
	return cfgWith(func(c *Config) {
		c.SelectionStrategy = "RegionBasedBridgeSelectionStrategy"
		c.Octo.Enabled = true
		if fn != nil {
			fn(c)
		}
	})
}

type regionCase struct {
	name    string
	region  string
	bridges []*Bridge // nil: all
	conf    ConferenceBridges
	want    string
}

func runRegionCases(t *testing.T, s Strategy, all []*Bridge, cases []regionCase) {
	t.Helper()
	for _, c := range cases {
		bridges := c.bridges
		if bridges == nil {
			bridges = all
		}
		if got := s.Select(bridges, c.conf, c.region, t0); jidOf(got) != c.want {
			t.Errorf("%s: got %s, want %s", c.name, jidOf(got), c.want)
		}
	}
}

func TestRegionBasedWithoutRegionGroups(t *testing.T) {
	const maxBP = 10
	cfg := regionConfig(func(c *Config) { c.MaxBridgeParticipants = maxBP })
	g, all := newRegionGrid(&cfg)
	spread := func(extra ...any) ConferenceBridges {
		return in(append([]any{g["ap-south/low"], 2, g["eu-west/medium"], 1, g["eu-west/high"], 1}, extra...)...)
	}
	runRegionCases(t, mustStrategy(t, cfg), all, []regionCase{
		{name: "no region: least loaded", want: "ap-south/low"},
		{name: "in the participant's region", region: "ap-south", want: "ap-south/low"},
		{name: "the conference's bridge in the region", region: "ap-south",
			conf: in(g["ap-south/medium"], 1), want: "ap-south/medium"},
		{name: "the conference's bridge is full", region: "ap-south",
			conf: in(g["ap-south/medium"], maxBP), want: "ap-south/low"},
		{name: "the conference's least loaded bridge is full", region: "ap-south",
			conf: in(g["ap-south/low"], maxBP), want: "ap-south/medium"},
		{name: "least loaded of the conference's bridges in the region", region: "ap-south",
			conf: in(g["ap-south/low"], 2, g["ap-south/medium"], 1), want: "ap-south/low"},
		{name: "no region: least loaded conference bridge",
			conf: in(g["ap-south/low"], 2, g["ap-south/medium"], 1), want: "ap-south/low"},
		{name: "multi-region, no region: least loaded conference bridge", conf: spread(), want: "ap-south/low"},
		{name: "multi-region: conference bridge in the region", region: "eu-west", conf: spread(), want: "eu-west/medium"},
		{name: "multi-region: new bridge in the region", region: "eu-central", conf: spread(), want: "eu-central/low"},
		{name: "multi-region: next bridge in the region when full", region: "eu-central",
			conf: spread(g["eu-central/low"], maxBP), want: "eu-central/medium"},
	})
}

func TestRegionBasedWithRegionGroups(t *testing.T) {
	const maxBP = 10
	cfg := regionConfig(func(c *Config) {
		c.MaxBridgeParticipants = maxBP
		c.LocalRegion = "us-east"
		c.RegionGroups = [][]string{{"us-east", "us-west"}, {"eu-central", "eu-west"}}
	})
	g, all := newRegionGrid(&cfg)
	spread := in(g["ap-south/low"], 2, g["eu-west/medium"], 1, g["eu-west/high"], 1, g["eu-central/low"], maxBP)
	runRegionCases(t, mustStrategy(t, cfg), all, []regionCase{
		{name: "in the region", region: "ap-south", want: "ap-south/low"},
		{name: "in the region, grouped", region: "eu-west", want: "eu-west/low"},
		{name: "none in the region: the region's group", region: "eu-west",
			bridges: without(all, "eu-west"), want: "eu-central/low"},
		{name: "none in the region: the group before the conference's bridge elsewhere", region: "eu-west",
			bridges: without(all, "eu-west"), conf: in(g["us-east/low"], 1), want: "eu-central/low"},
		{name: "the conference's bridge in the group when the one in the region is full", region: "eu-central",
			conf: spread, want: "eu-west/medium"},
		{name: "a new bridge in the region before conference bridges elsewhere", region: "us-east",
			conf: spread, want: "us-east/low"},
		{name: "first participant in the local group goes to the local region", region: "us-west",
			want: "us-east/low"},
	})
}

func TestRegionBasedFallsBackToLocalRegion(t *testing.T) {
	const local = "local-region"
	cfg := regionConfig(func(c *Config) { c.LocalRegion = local })
	s := mustStrategy(t, cfg)

	t.Run("equal stress", func(t *testing.T) {
		b1 := newBridge(&cfg, spec{jid: "bridge1", region: "region1"})
		b2 := newBridge(&cfg, spec{jid: "bridge2", region: local})
		b3 := newBridge(&cfg, spec{jid: "bridge3", region: "region3"})
		all := []*Bridge{b1, b2, b3}
		runRegionCases(t, s, all, []regionCase{
			{name: "initial, region1", region: "region1", want: "bridge1"},
			{name: "initial, local", region: local, want: "bridge2"},
			{name: "initial, unknown region", region: "invalid region", want: "bridge2"},
			{name: "initial, no region", want: "bridge2"},
			{name: "region3 with bridge3", region: "region3", conf: in(b3, 1), want: "bridge3"},
			{name: "local with bridge3", region: local, conf: in(b3, 1), want: "bridge2"},
			{name: "no region with bridge3", conf: in(b3, 1), want: "bridge2"},
			{name: "no region with bridge3 and 2", conf: in(b3, 1, b2, 1), want: "bridge2"},
			{name: "unknown region with bridge3 and 2", region: "invalid region", conf: in(b3, 1, b2, 1), want: "bridge2"},
		})
	})
	t.Run("lowest stress first", func(t *testing.T) {
		low := newBridge(&cfg, spec{jid: "low", stress: 0.1, region: "low"})
		medium := newBridge(&cfg, spec{jid: "medium", stress: 0.3, region: "medium"})
		high := newBridge(&cfg, spec{jid: "high", stress: 0.8, region: "high"})
		all := []*Bridge{high, medium, low}
		runRegionCases(t, s, all, []regionCase{
			{name: "initial, region's bridge overloaded", region: "high", want: "low"},
			{name: "initial, medium", region: "medium", want: "medium"},
			{name: "initial, unknown region", region: "invalid region", want: "low"},
			{name: "initial, no region", want: "low"},
			{name: "low with low", region: "low", conf: in(low, 1), want: "low"},
			{name: "medium with low", region: "medium", conf: in(low, 1), want: "medium"},
			{name: "no region with low", conf: in(low, 1), want: "low"},
			{name: "no region with low and medium", conf: in(low, 1, medium, 1), want: "low"},
			{name: "unknown region with low and medium", region: "invalid region", conf: in(low, 1, medium, 1), want: "low"},
		})
	})
	t.Run("region when stress is close", func(t *testing.T) {
		m1 := newBridge(&cfg, spec{jid: "m1", stress: 0.25, region: "m1"})
		m2 := newBridge(&cfg, spec{jid: "m2", stress: 0.3, region: "m2"})
		high := newBridge(&cfg, spec{jid: "high", stress: 0.8, region: "high"})
		all := []*Bridge{m1, m2, high}
		runRegionCases(t, s, all, []regionCase{
			{name: "initial, region's bridge overloaded", region: "high", want: "m1"},
			{name: "initial, m2", region: "m2", want: "m2"},
			{name: "initial, unknown region", region: "invalid region", want: "m1"},
			{name: "initial, no region", want: "m1"},
			{name: "m1 with m2", region: "m1", conf: in(m2, 1), want: "m1"},
			{name: "m2 with m2", region: "m2", conf: in(m2, 1), want: "m2"},
			{name: "no region with m2", conf: in(m2, 1), want: "m2"},
			{name: "no region with m2 and high", conf: in(m2, 1, high, 1), want: "m2"},
			{name: "unknown region with m2 and high", region: "invalid region", conf: in(m2, 1, high, 1), want: "m2"},
		})
	})
}

func TestConferenceStaysOnItsBridgeUntilMaxParticipants(t *testing.T) {
	cfg := regionConfig(nil) // max-bridge-participants 80
	s := mustStrategy(t, cfg)
	busy := newBridge(&cfg, spec{jid: "busy", stress: 0.5, region: "r"})
	idle := newBridge(&cfg, spec{jid: "idle", stress: 0.0, region: "r"})
	for _, c := range []struct {
		participants int
		want         string
	}{{1, "busy"}, {79, "busy"}, {80, "idle"}, {200, "idle"}} {
		got := s.Select([]*Bridge{idle, busy}, in(busy, c.participants), "r", t0)
		if jidOf(got) != c.want {
			t.Errorf("%d participants on busy: got %s, want %s", c.participants, jidOf(got), c.want)
		}
	}
}

func TestRegionBasedMaxParticipantsPerInterval(t *testing.T) {
	const limit = 10
	now := t0.Add(time.Hour)
	on := regionConfig(func(c *Config) { c.MaxBridgeParticipantsPerInterval = limit })
	b1 := newBridge(&on, spec{jid: "bridge1", stress: 0, region: "region"})
	b2 := newBridge(&on, spec{jid: "bridge2", stress: 0.1, region: "region"})
	b3 := newBridge(&on, spec{jid: "bridge3", stress: 0.2, region: "region"})
	over1 := newBridge(&on, spec{jid: "over1", stress: 0.9, region: "region"})
	over2 := newBridge(&on, spec{jid: "over2", stress: 0.95, region: "region"})
	added := func(pairs ...any) ConferenceBridges { // bridge, recent additions
		var conf ConferenceBridges
		for i := 0; i < len(pairs); i += 2 {
			conf = withAdded(append(conf, ConferenceBridge{Bridge: pairs[i].(*Bridge), Participants: 1}),
				i/2, pairs[i+1].(int), now)
		}
		return conf
	}
	cases := []struct {
		name    string
		cfg     Config
		bridges []*Bridge
		conf    ConferenceBridges
		want    *Bridge
	}{
		{"off by default, however many were added", regionConfig(nil), []*Bridge{b1, b2}, added(b1, 1000), b1},
		{"below the limit", on, []*Bridge{b1, b2}, added(b1, limit-1), b1},
		{"at the limit: another bridge", on, []*Bridge{b1, b2}, added(b1, limit), b2},
		{"past the limit: another bridge", on, []*Bridge{b1, b2}, added(b1, limit+100), b2},
		{"another bridge the conference uses first", on, []*Bridge{b1, b2, b3}, added(b1, limit, b3, 0), b3},
		{"all at the limit: least loaded", on, []*Bridge{b1, b2}, added(b1, limit, b2, limit), b1},
		{"first participant unaffected", on, []*Bridge{b1, b2}, nil, b1},
		{"all overloaded: a conference bridge anyway", on, []*Bridge{over1, over2}, added(over1, limit, over2, limit), over1},
		{"another conference still gets bridge1", on, []*Bridge{b1, b2}, added(b1, 0), b1},
	}
	for _, c := range cases {
		got := mustStrategy(t, c.cfg).Select(c.bridges, c.conf, "region", now)
		if got != c.want {
			t.Errorf("%s: got %s, want %s", c.name, jidOf(got), c.want)
		}
	}
	if b1.Overloaded(now) || b1.CorrectedStress(now) != 0 {
		t.Error("the per-conference limit changed bridge1's own state")
	}
}

// Jicofo's sixth tier looks only at the bridge's own stress, so without any
// region information a full conference bridge kept getting participants.
func TestFreeTierHonoursConferenceLimitsWithoutRegions(t *testing.T) {
	cfg := regionConfig(func(c *Config) { c.MaxBridgeParticipantsPerInterval = 30 })
	s := mustStrategy(t, cfg)
	b1 := newBridge(&cfg, spec{jid: "bridge1", stress: 0})
	b2 := newBridge(&cfg, spec{jid: "bridge2", stress: 0.3})
	if got := s.Select([]*Bridge{b1, b2}, in(b1, 80), "", t0); got != b2 {
		t.Errorf("full bridge1: got %s, want bridge2", jidOf(got))
	}
	if got := s.Select([]*Bridge{b1, b2}, withAdded(in(b1, 5), 0, 30, t0), "", t0); got != b2 {
		t.Errorf("rate-limited bridge1: got %s, want bridge2", jidOf(got))
	}
}

func TestRegionBasedWithNoCandidatesGivesNone(t *testing.T) {
	cfg := regionConfig(func(c *Config) { c.LocalRegion = "us-east" })
	if got := mustStrategy(t, cfg).Select(nil, nil, "eu-west", t0); got != nil {
		t.Errorf("got %s", got)
	}
}
