package selection

import (
	"errors"
	"strings"
	"testing"
	"time"

	"focal/xmpp"
)

func TestNewAcceptsJicofoAndShortStrategyNames(t *testing.T) {
	cases := []struct{ name, want string }{
		{"SingleBridgeSelectionStrategy", "SingleBridgeSelectionStrategy"},
		{"RegionBasedBridgeSelectionStrategy", "RegionBasedBridgeSelectionStrategy"},
		{"IntraRegionBridgeSelectionStrategy", "IntraRegionBridgeSelectionStrategy"},
		{"SplitBridgeSelectionStrategy", "SplitBridgeSelectionStrategy"},
		{"org.jitsi.jicofo.bridge.RegionBasedBridgeSelectionStrategy", "RegionBasedBridgeSelectionStrategy"},
		{"single", "SingleBridgeSelectionStrategy"},
		{"region", "RegionBasedBridgeSelectionStrategy"},
		{"intra-region", "IntraRegionBridgeSelectionStrategy"},
		{"split", "SplitBridgeSelectionStrategy"},
	}
	for _, c := range cases {
		s, err := New(cfgWith(func(cf *Config) { cf.SelectionStrategy = c.name }))
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if s.Strategy() != c.want {
			t.Errorf("%s: Strategy() = %s, want %s", c.name, s.Strategy(), c.want)
		}
	}
	for _, bad := range []string{"Single", "org.jitsi.jicofo.bridge.single", "com.example.MyStrategy", "VisitorSelectionStrategy"} {
		if _, err := New(cfgWith(func(cf *Config) { cf.SelectionStrategy = bad })); err == nil {
			t.Errorf("%s: accepted", bad)
		}
	}
}

func TestUpdateReportsWhatChanged(t *testing.T) {
	s := newSelector(t, DefaultConfig())
	steps := []struct {
		stats []Stat
		want  Event
	}{
		{[]Stat{{xmpp.StatStressLevel, "0.1"}}, Added},
		{[]Stat{{xmpp.StatStressLevel, "0.2"}}, Updated},
		{[]Stat{{xmpp.StatGracefulShutdown, "true"}}, Updated},
		{[]Stat{{xmpp.StatShuttingDown, "true"}}, EnteredShuttingDown},
		{[]Stat{{xmpp.StatShuttingDown, "true"}}, Updated},
	}
	for i, st := range steps {
		b, ev := s.Update("jvb1", t0.Add(time.Duration(i)*time.Second), st.stats...)
		if ev != st.want {
			t.Errorf("step %d: event %s, want %s", i, ev, st.want)
		}
		if b != s.Get("jvb1") || !b.StatsAt().Equal(t0.Add(time.Duration(i)*time.Second)) {
			t.Errorf("step %d: wrong bridge or presence time", i)
		}
	}
	if b := s.Get("jvb1"); b.Stats().StressLevel != 0.2 || !b.GracefulShutdown() || !b.ShuttingDown() {
		t.Errorf("stats not merged: %+v", b.Stats())
	}
}

func TestRemoveForgetsOnlyThatBridge(t *testing.T) {
	s := newSelector(t, DefaultConfig(),
		spec{jid: "a", stress: 0.3}, spec{jid: "b", stress: 0.1}, spec{jid: "c", stress: 0.2})
	b := s.Remove("b")
	if b == nil || b.JID() != "b" || s.Get("b") != nil || s.Len() != 2 {
		t.Fatalf("Remove(b) = %v, Len %d", b, s.Len())
	}
	if s.Remove("b") != nil || s.MarkFailed("b", t0) {
		t.Fatal("a removed bridge is still known")
	}
	if got, err := s.Select(nil, "", "", t0); err != nil || got.JID() != "c" {
		t.Fatalf("got %v, %v; want c", got, err)
	}
	s.Remove("a")
	s.Remove("c")
	if s.Len() != 0 || len(s.Bridges()) != 0 {
		t.Fatal("bridges left")
	}
	if _, err := s.Select(nil, "", "", t0); !errors.Is(err, ErrNoBridge) {
		t.Fatalf("empty selector: %v", err)
	}
}

func TestSelectionFollowsOperationalStatus(t *testing.T) {
	s := newSelector(t, DefaultConfig(), spec{jid: "jvb1"}, spec{jid: "jvb2"}, spec{jid: "jvb3"})
	steps := []struct {
		at     time.Duration
		failed []string
		want   []string
	}{
		{0, nil, []string{"jvb1", "jvb2", "jvb3"}},
		{0, []string{"jvb1"}, []string{"jvb2", "jvb3"}},
		{0, []string{"jvb2"}, []string{"jvb3"}},
		{30 * time.Second, []string{"jvb3"}, nil},
		{time.Minute, nil, []string{"jvb1", "jvb2"}}, // jvb1 and jvb2 recovered, jvb3 not yet
		{90 * time.Second, nil, []string{"jvb1", "jvb2", "jvb3"}},
	}
	for i, st := range steps {
		now := t0.Add(st.at)
		for _, j := range st.failed {
			if !s.MarkFailed(j, now) {
				t.Fatalf("MarkFailed(%s) = false", j)
			}
		}
		got, err := s.Select(nil, "", "", now)
		if st.want == nil {
			if !errors.Is(err, ErrNoBridge) {
				t.Errorf("step %d: got %v, %v; want ErrNoBridge", i, got, err)
			}
			continue
		}
		if err != nil || got.JID() != st.want[0] {
			t.Errorf("step %d: got %v, %v; want %s", i, got, err, st.want[0])
		}
	}
}

func TestSelectionFollowsStress(t *testing.T) {
	s := newSelector(t, DefaultConfig(),
		spec{jid: "jvb1", stress: 0.1}, spec{jid: "jvb2", stress: 0.23}, spec{jid: "jvb3", stress: 0})
	stress := func(jid string, v string) { s.Update(jid, t0, Stat{xmpp.StatStressLevel, v}) }
	want := func(step, jid string) {
		t.Helper()
		if got, err := s.Select(nil, "", "", t0); err != nil || got.JID() != jid {
			t.Errorf("%s: got %v, %v; want %s", step, got, err, jid)
		}
	}
	want("least stressed", "jvb3")
	stress("jvb3", "0.3")
	want("jvb3 got busier", "jvb1")
	s.MarkFailed("jvb1", t0)
	want("jvb1 failed", "jvb2")
}

func TestRampupStressSteersSecondParticipantToOtherBridge(t *testing.T) {
	s := newSelector(t, DefaultConfig(), spec{jid: "jvb1", stress: 0.100}, spec{jid: "jvb2", stress: 0.105})
	first, err := s.Select(nil, "", "", t0)
	if err != nil || first.JID() != "jvb1" {
		t.Fatalf("first: %v, %v", first, err)
	}
	first.EndpointAdded(t0)
	// Another conference's first participant, a second later: jvb1 now
	// counts 0.100 + 0.01, more than jvb2's 0.105.
	second, err := s.Select(nil, "", "", t0.Add(time.Second))
	if err != nil || second.JID() != "jvb2" {
		t.Fatalf("second: %v, %v; want jvb2", second, err)
	}
	// Once the ramp-up interval has passed, only the reports count again.
	third, err := s.Select(nil, "", "", t0.Add(20*time.Second))
	if err != nil || third.JID() != "jvb1" {
		t.Fatalf("after the ramp-up: %v, %v; want jvb1", third, err)
	}
}

func TestSelectRecordsNoAllocation(t *testing.T) {
	s := newSelector(t, DefaultConfig(), spec{jid: "jvb1", stress: 0.1}, spec{jid: "jvb2", stress: 0.105})
	for range 3 {
		if got, _ := s.Select(nil, "", "", t0); got.JID() != "jvb1" {
			t.Fatal("selecting changed the outcome")
		}
	}
}

func TestDrainingBridgeOnlyWhenNoOther(t *testing.T) {
	s := newSelector(t, DefaultConfig(),
		spec{jid: "drained", stress: 0, drain: true}, spec{jid: "active", stress: 0.7})
	want := func(step, jid string) {
		t.Helper()
		if got, err := s.Select(nil, "", "", t0); err != nil || got.JID() != jid {
			t.Errorf("%s: got %v, %v; want %s", step, got, err, jid)
		}
	}
	want("an active bridge is preferred however loaded", "active")
	s.Update("active", t0, Stat{xmpp.StatStressLevel, "0.95"})
	want("even overloaded", "active")
	s.Update("active", t0, Stat{xmpp.StatDrain, "true"})
	want("all draining: least loaded", "drained")
	s.Update("fresh", t0) // no drain stat yet: counts as draining
	s.Update("fresh", t0, Stat{xmpp.StatStressLevel, "0.5"})
	want("a bridge that never said is draining", "drained")
}

func TestGracefulShutdownBridgeOnlyWhenNoOther(t *testing.T) {
	s := newSelector(t, DefaultConfig(),
		spec{jid: "leaving", stress: 0, graceful: true}, spec{jid: "staying", stress: 0.9})
	if got, err := s.Select(nil, "", "", t0); err != nil || got.JID() != "staying" {
		t.Fatalf("got %v, %v; want staying", got, err)
	}
	s.Update("staying", t0, Stat{xmpp.StatGracefulShutdown, "true"})
	if got, err := s.Select(nil, "", "", t0); err != nil || got.JID() != "leaving" {
		t.Fatalf("all leaving: got %v, %v; want leaving", got, err)
	}
}

func TestNonDrainingIsPreferredBeforeRunning(t *testing.T) {
	// Drain is the stronger preference: an active bridge in graceful
	// shutdown beats a draining running one.
	s := newSelector(t, DefaultConfig(),
		spec{jid: "drained-running", drain: true}, spec{jid: "active-leaving", graceful: true, stress: 0.5})
	if got, err := s.Select(nil, "", "", t0); err != nil || got.JID() != "active-leaving" {
		t.Fatalf("got %v, %v", got, err)
	}
}

func TestShuttingDownBridgeIsNeverSelected(t *testing.T) {
	s := newSelector(t, DefaultConfig(), spec{jid: "stopping", shutdown: true}, spec{jid: "busy", stress: 2})
	if got, err := s.Select(nil, "", "", t0); err != nil || got.JID() != "busy" {
		t.Fatalf("got %v, %v; want busy", got, err)
	}
	s.Remove("busy")
	_, err := s.Select(nil, "", "", t0)
	if !errors.Is(err, ErrNoBridge) || !strings.Contains(err.Error(), "shutting down") {
		t.Fatalf("got %v", err)
	}
}

func TestVersionPinningAndMixing(t *testing.T) {
	cfg := regionConfig(nil)
	s := newSelector(t, cfg,
		spec{jid: "jvb1", version: "v1", stress: 0.9, region: "r"},
		spec{jid: "jvb2", version: "v2", stress: 0.1, region: "r"})
	jvb1 := s.Get("jvb1")
	cases := []struct {
		name   string
		conf   ConferenceBridges
		pinned string
		want   string // empty: an error
	}{
		{"pinned v1", nil, "v1", "jvb1"},
		{"pinned v2", nil, "v2", "jvb2"},
		{"pinned to a missing version", nil, "v-nonexistent", ""},
		{"conference on v1 stays on v1", in(jvb1, 1), "", "jvb1"},
		{"conference on v1 pinned to v2", in(jvb1, 1), "v2", ""},
	}
	for _, c := range cases {
		got, err := s.Select(c.conf, "", c.pinned, t0)
		if c.want == "" {
			if got != nil || !errors.Is(err, ErrNoBridge) {
				t.Errorf("%s: got %v, %v; want ErrNoBridge", c.name, got, err)
			}
			continue
		}
		if err != nil || got.JID() != c.want {
			t.Errorf("%s: got %v, %v; want %s", c.name, got, err, c.want)
		}
	}
	if _, err := s.Select(in(jvb1, 1), "", "v2", t0); !errors.Is(err, ErrVersionConflict) {
		t.Errorf("conflict: %v", err)
	}
	s.Update("jvb3", t0, spec{jid: "jvb3", version: "v1", stress: 0.1, region: "r"}.stats()...)
	if got, err := s.Select(in(jvb1, 1), "", "", t0); err != nil || got.JID() != "jvb3" {
		t.Errorf("a second v1 bridge: got %v, %v; want jvb3", got, err)
	}

	mixed := newSelector(t, regionConfig(func(c *Config) { c.Octo.AllowMixedVersions = true }),
		spec{jid: "jvb1", version: "v1", stress: 0.9, region: "r"},
		spec{jid: "jvb2", version: "v2", stress: 0.1, region: "r"})
	if got, err := mixed.Select(in(mixed.Get("jvb1"), 1), "", "", t0); err != nil || got.JID() != "jvb2" {
		t.Errorf("mixed versions allowed: got %v, %v; want jvb2", got, err)
	}
}

func TestFullVersionIncludesRelease(t *testing.T) {
	s := newSelector(t, DefaultConfig())
	s.Update("jvb1", t0, Stat{xmpp.StatVersion, "2.3"}, Stat{xmpp.StatRelease, "7"}, Stat{xmpp.StatDrain, "false"})
	s.Update("jvb2", t0, Stat{xmpp.StatVersion, "2.3"}, Stat{xmpp.StatRelease, "8"}, Stat{xmpp.StatDrain, "false"})
	if got, err := s.Select(nil, "", "2.3-8", t0); err != nil || got.JID() != "jvb2" {
		t.Fatalf("got %v, %v", got, err)
	}
	if _, err := s.Select(nil, "", "2.3", t0); !errors.Is(err, ErrNoBridge) {
		t.Fatalf("a bare version matched a bridge with a release: %v", err)
	}
}

func TestRollingUpgradeWithDrainedNewRelease(t *testing.T) {
	cfg := regionConfig(nil) // max-bridge-participants 80
	const full = 80
	mk := func(jid, version string, stress float64, drain bool) spec {
		return spec{jid: jid, version: version, stress: stress, drain: drain, region: "region"}
	}
	s := newSelector(t, cfg, mk("old1", "old", 0.1, false), mk("old2", "old", 0.2, false), mk("old3", "old", 0.3, false))
	b := s.Get
	type step struct {
		conf    ConferenceBridges
		version string
		want    string // empty: no bridge
	}
	check := func(phase string, steps []step) {
		t.Helper()
		for i, st := range steps {
			got, err := s.Select(st.conf, "region", st.version, t0)
			if jidOf(got) != orNil(st.want) || (st.want == "") != (err != nil) {
				t.Errorf("%s step %d: got %s, %v; want %s", phase, i, jidOf(got), err, orNil(st.want))
			}
		}
	}
	oldSteps := func() []step {
		return []step{
			{nil, "", "old1"},
			{nil, "old", "old1"},
			{in(b("old1"), 1), "", "old1"},
			{in(b("old2"), 1), "", "old2"},
			{in(b("old3"), 1), "", "old3"},
			{in(b("old2"), 2, b("old3"), 1), "", "old2"},
			{nil, "invalid-version", ""},
			{in(b("old1"), 1), "new", ""},
			{in(b("old1"), full), "", "old2"},
			{in(b("old1"), full, b("old3"), 1), "", "old3"},
			{in(b("old1"), full, b("old3"), full), "", "old2"},
			{in(b("old1"), full, b("old2"), full, b("old3"), full), "", "old1"},
		}
	}
	check("old release only", oldSteps())

	s.Update("new1", t0, mk("new1", "new", 0, true).stats()...)
	check("one drained new bridge", []step{
		{nil, "", "old1"},
		{nil, "new", "new1"},
		{in(b("new1"), 1), "", "new1"},
	})
	s.Update("new1", t0, Stat{xmpp.StatStressLevel, "0.3"})
	s.Update("new2", t0, mk("new2", "new", 0.2, true).stats()...)
	s.Update("new3", t0, mk("new3", "new", 0.1, true).stats()...)
	check("three drained new bridges", []step{
		{nil, "new", "new3"},
		{in(b("new2"), 1), "", "new2"},
		{in(b("new1"), 1), "new", "new1"},
		{in(b("new1"), 1), "old", ""},
		{in(b("new1"), full), "", "new3"},
		{in(b("new1"), full, b("new2"), 1), "", "new2"},
		{in(b("new1"), full, b("new2"), full), "", "new3"},
		{in(b("new1"), full, b("new2"), full, b("new3"), full), "", "new3"},
	})
	check("old conferences unaffected", oldSteps())

	for _, j := range []string{"old1", "old2", "old3"} {
		s.Update(j, t0, Stat{xmpp.StatDrain, "true"})
	}
	for _, j := range []string{"new1", "new2", "new3"} {
		s.Update(j, t0, Stat{xmpp.StatDrain, "false"})
	}
	s.Update("old1", t0, Stat{xmpp.StatStressLevel, "0"})
	check("switched releases", []step{
		{nil, "", "new3"},
		{in(b("new3"), full), "", "new2"},
		{in(b("old1"), 1), "", "old1"},
		{in(b("old1"), full), "", "old2"},
		{nil, "old", "old1"},
	})
}

func orNil(s string) string {
	if s == "" {
		return "<nil>"
	}
	return s
}

func TestConferenceBridgeRemovedFromSelector(t *testing.T) {
	s := newSelector(t, regionConfig(nil),
		spec{jid: "jvb1", stress: 0.2, region: "r1"},
		spec{jid: "jvb2", stress: 0.5, region: "r2"},
		spec{jid: "jvb3", stress: 0.1, region: "r3"})
	jvb1, jvb2, jvb3 := s.Get("jvb1"), s.Get("jvb2"), s.Get("jvb3")
	s.Remove("jvb3")
	conf := in(jvb1, 1, jvb2, 1, jvb3, 1)
	if got, err := s.Select(conf, "", "", t0); err != nil || got != jvb1 {
		t.Errorf("no region: got %v, %v; want jvb1", got, err)
	}
	if got, err := s.Select(conf, "r2", "", t0); err != nil || got != jvb2 {
		t.Errorf("r2: got %v, %v; want jvb2", got, err)
	}
}

func TestNoBridgeErrorsSayWhy(t *testing.T) {
	s := newSelector(t, DefaultConfig(), spec{jid: "jvb1", version: "v1"})
	s.MarkFailed("jvb1", t0)
	_, err := s.Select(nil, "", "", t0)
	if !errors.Is(err, ErrNoBridge) || !strings.Contains(err.Error(), "operational") {
		t.Errorf("failed bridge: %v", err)
	}
	_, err = s.Select(nil, "", "v2", t0.Add(time.Minute))
	if !errors.Is(err, ErrNoBridge) || !strings.Contains(err.Error(), `version "v2"`) {
		t.Errorf("missing version: %v", err)
	}
	// The single strategy refuses a conference spread over two bridges.
	octo := newSelector(t, cfgWith(func(c *Config) { c.Octo.Enabled = true }), spec{jid: "a"}, spec{jid: "b"})
	_, err = octo.Select(in(octo.Get("a"), 1, octo.Get("b"), 1), "", "", t0)
	if !errors.Is(err, ErrNoBridge) || !strings.Contains(err.Error(), "SingleBridgeSelectionStrategy") {
		t.Errorf("strategy found none: %v", err)
	}
}
