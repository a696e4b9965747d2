package selection

import (
	"math"
	"testing"
	"time"

	"focal/xmpp"
)

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9 }

func TestCorrectedStressAddsEndpointsOfTheLastRampupInterval(t *testing.T) {
	cfg := DefaultConfig()
	cases := []struct {
		name     string
		reported []Stat
		added    []time.Duration // offsets from t0
		at       time.Duration
		want     float64
	}{
		{"nothing added", []Stat{{xmpp.StatStressLevel, "0.1"}}, nil, 0, 0.1},
		{"config default per endpoint", []Stat{{xmpp.StatStressLevel, "0.1"}}, []time.Duration{0, time.Second, 2 * time.Second}, 3 * time.Second, 0.13},
		{"bridge-reported per endpoint", []Stat{{xmpp.StatStressLevel, "0.1"}, {xmpp.StatAverageParticipantStress, "0.05"}},
			[]time.Duration{0, time.Second}, 2 * time.Second, 0.2},
		{"older than the interval no longer count", []Stat{{xmpp.StatStressLevel, "0.1"}},
			[]time.Duration{0, 10 * time.Second}, 25 * time.Second, 0.11},
		{"all expired", []Stat{{xmpp.StatStressLevel, "0.1"}}, []time.Duration{0}, 20 * time.Second, 0.1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b := NewBridge("jvb", &cfg)
			for _, st := range c.reported {
				b.stats.Apply(st)
			}
			for _, d := range c.added {
				b.EndpointAdded(t0.Add(d))
			}
			if got := b.CorrectedStress(t0.Add(c.at)); !near(got, c.want) {
				t.Errorf("CorrectedStress = %v, want %v", got, c.want)
			}
		})
	}
}

func TestOverloadedFromStressThresholdOn(t *testing.T) {
	cfg := DefaultConfig()
	cases := []struct {
		stress float64
		added  int
		want   bool
	}{
		{0.79, 0, false},
		{0.8, 0, true},
		{1.2, 0, true},
		{0.78, 2, true}, // 0.78 + 2 × 0.01 reaches 0.8
		{0.78, 1, false},
	}
	for _, c := range cases {
		b := newBridge(&cfg, spec{jid: "jvb", stress: c.stress})
		for range c.added {
			b.EndpointAdded(t0)
		}
		if got := b.Overloaded(t0); got != c.want {
			t.Errorf("stress %v + %d endpoints: Overloaded = %v, want %v", c.stress, c.added, got, c.want)
		}
	}
}

func TestFailedBridgeIsNonOperationalForOneMinute(t *testing.T) {
	cfg := DefaultConfig()
	b := NewBridge("jvb", &cfg)
	if !b.Operational(t0) {
		t.Fatal("a new bridge is not operational")
	}
	b.MarkFailed(t0)
	cases := []struct {
		after time.Duration
		want  bool
	}{
		{0, false},
		{30 * time.Second, false},
		{time.Minute - time.Nanosecond, false},
		{time.Minute, true},
		{time.Hour, true},
	}
	for _, c := range cases {
		if got := b.Operational(t0.Add(c.after)); got != c.want {
			t.Errorf("%v after the failure: Operational = %v, want %v", c.after, got, c.want)
		}
	}
}

func TestRepeatedFailureRestartsTheResetPeriod(t *testing.T) {
	cfg := DefaultConfig()
	b := NewBridge("jvb", &cfg)
	b.MarkFailed(t0)
	b.MarkFailed(t0.Add(30 * time.Second))
	if b.Operational(t0.Add(time.Minute)) {
		t.Error("operational 30 s after the second failure")
	}
	if !b.Operational(t0.Add(90 * time.Second)) {
		t.Error("not operational one minute after the second failure")
	}
}

func TestNewBridgeIsDrainingUntilStatsSayOtherwise(t *testing.T) {
	s := newSelector(t, DefaultConfig())
	b, _ := s.Update("jvb", t0, Stat{xmpp.StatStressLevel, "0.1"})
	if !b.Draining() {
		t.Fatal("draining was reset by a presence without drain")
	}
	s.Update("jvb", t0, Stat{xmpp.StatDrain, "false"})
	if b.Draining() {
		t.Fatal("still draining after drain=false")
	}
}

func TestCompareOrdersOperationalThenGracefulThenStress(t *testing.T) {
	cfg := DefaultConfig()
	type state struct {
		stress   float64
		graceful bool
		failed   bool
	}
	mk := func(jid string, s state) *Bridge {
		b := newBridge(&cfg, spec{jid: jid, stress: s.stress, graceful: s.graceful})
		if s.failed {
			b.MarkFailed(t0)
		}
		return b
	}
	cases := []struct {
		name        string
		first, then state
	}{
		{"operational before failed, whatever the stress", state{stress: 10}, state{stress: 0.1, graceful: true, failed: true}},
		{"running before graceful shutdown, whatever the stress", state{stress: 10}, state{stress: 0.1, graceful: true}},
		{"graceful before failed", state{stress: 0.9, graceful: true}, state{stress: 0.1, failed: true}},
		{"lower stress first", state{stress: 0.1}, state{stress: 10}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a, b := mk("a", c.first), mk("b", c.then)
			if a.Compare(b, t0) >= 0 || b.Compare(a, t0) <= 0 {
				t.Errorf("Compare(a, b) = %d, Compare(b, a) = %d", a.Compare(b, t0), b.Compare(a, t0))
			}
		})
	}
	t.Run("equal bridges order by JID", func(t *testing.T) {
		a, b := mk("jvb1", state{stress: 0.2}), mk("jvb2", state{stress: 0.2})
		if a.Compare(b, t0) >= 0 || a.Compare(a, t0) != 0 {
			t.Error("ties are not broken by JID")
		}
	})
}

func TestFullVersionJoinsVersionAndRelease(t *testing.T) {
	cases := []struct{ version, release, want string }{
		{"", "", ""},
		{"2.3", "", "2.3"},
		{"", "7", ""},
		{"2.3", "7", "2.3-7"},
	}
	for _, c := range cases {
		b := NewBridge("jvb", nil)
		b.stats.Version, b.stats.Release = c.version, c.release
		if got := b.FullVersion(); got != c.want {
			t.Errorf("FullVersion(%q, %q) = %q, want %q", c.version, c.release, got, c.want)
		}
		for _, v := range []string{"", "2.3", "2.3-7", "2.3-", "2.3-8", "2.37"} {
			if got := b.hasFullVersion(v); got != (v == c.want) {
				t.Errorf("%q/%q: hasFullVersion(%q) = %v", c.version, c.release, v, got)
			}
		}
	}
}
