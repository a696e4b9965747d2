package selection

import "testing"

func TestSingleFirstParticipantGetsLeastLoadedBridgeInItsRegion(t *testing.T) {
	cfg := DefaultConfig()
	euLow := newBridge(&cfg, spec{jid: "eu-low", stress: 0.1, region: "eu"})
	euBusy := newBridge(&cfg, spec{jid: "eu-busy", stress: 0.9, region: "eu"})
	usBusy := newBridge(&cfg, spec{jid: "us-busy", stress: 0.95, region: "us"})
	usLow := newBridge(&cfg, spec{jid: "us-low", stress: 0.3, region: "us"})
	all := []*Bridge{euLow, euBusy, usBusy, usLow}
	cases := []struct {
		region  string
		bridges []*Bridge
		want    *Bridge
	}{
		{"us", all, usLow},
		{"eu", all, euLow},
		{"", all, euLow},
		{"ap", all, euLow},
		// In the region even when overloaded: this strategy does not look
		// at the threshold.
		{"us", []*Bridge{euLow, usBusy}, usBusy},
	}
	for _, c := range cases {
		got := single{}.Select(c.bridges, nil, c.region, t0)
		if got != c.want {
			t.Errorf("region %q: got %s, want %s", c.region, jidOf(got), c.want)
		}
	}
	if got := (single{}).Select(nil, nil, "us", t0); got != nil {
		t.Errorf("no candidates: got %s", got)
	}
}

func TestSingleKeepsConferenceOnItsBridgeEvenWhenFull(t *testing.T) {
	for _, octo := range []bool{false, true} {
		cfg := cfgWith(func(c *Config) { c.Octo.Enabled = octo })
		s := mustStrategy(t, cfg)
		full := newBridge(&cfg, spec{jid: "full", stress: 2})
		idle := newBridge(&cfg, spec{jid: "idle"})
		if got := s.Select([]*Bridge{idle, full}, in(full, 500), "", t0); got != full {
			t.Errorf("octo %v: got %s, want full", octo, jidOf(got))
		}
	}
}

func TestSingleWithOctoGivesNoBridgeWhenItsBridgeFailed(t *testing.T) {
	cfg := cfgWith(func(c *Config) { c.Octo.Enabled = true })
	failed := newBridge(&cfg, spec{jid: "failed"})
	failed.MarkFailed(t0)
	idle := newBridge(&cfg, spec{jid: "idle"})
	s := mustStrategy(t, cfg)
	if got := s.Select([]*Bridge{idle}, in(failed, 3), "", t0); got != nil {
		t.Errorf("got %s, want none", got)
	}
	// Two bridges cannot happen with this strategy; it refuses to choose.
	if got := s.Select([]*Bridge{idle}, in(idle, 1, failed, 1), "", t0); got != nil {
		t.Errorf("got %s, want none", got)
	}
}
