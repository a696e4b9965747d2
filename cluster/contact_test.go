package cluster

import (
	"math"
	"testing"
	"time"
)

// A run of contacts lasts while no gap exceeds ContactGap; a longer gap, or
// the member being declared dead, starts a new one.
func TestContactRunsBreakOnGapsAndDeaths(t *testing.T) {
	c := newContacts()
	now := time.Unix(1000, 0)
	c.now = func() time.Time { return now }
	at := func(d time.Duration) time.Time { return time.Unix(1000, 0).Add(d) }

	c.met("b")
	for range 5 {
		now = now.Add(400 * time.Millisecond)
		c.touch("b")
	}
	// (400 ms between probes is within ContactGap.)
	if got := c.contact("b"); !got.Since.Equal(at(0)) || !got.Last.Equal(at(2*time.Second)) {
		t.Fatalf("steady probes: %+v, want a run since the join", got)
	}
	if !c.contact("b").SteadyFor(now, 2*time.Second) || c.contact("b").SteadyFor(now, 3*time.Second) {
		t.Errorf("steady for 2 s but not 3 s: %+v", c.contact("b"))
	}
	// Probes unanswered for longer than the gap: a new run.
	now = now.Add(ContactGap + 200*time.Millisecond)
	if c.contact("b").Within(now, ContactGap) {
		t.Errorf("silent for more than the gap yet within it: %+v", c.contact("b"))
	}
	c.touch("b")
	if got := c.contact("b"); !got.Since.Equal(now) {
		t.Errorf("after a gap: %+v, want a run since %v", got, now)
	}
	// Declared dead and re-added: no contact until a probe is answered.
	c.lost("b")
	if returning := c.met("b"); !returning {
		t.Error("a member re-added after its death is not returning")
	}
	if got := c.contact("b"); !got.Last.IsZero() || got.Within(now, time.Hour) {
		t.Errorf("returning member counted as in contact: %+v", got)
	}
	now = now.Add(100 * time.Millisecond)
	c.touch("b")
	if got := c.contact("b"); !got.Since.Equal(now) || got.SteadyFor(now, time.Millisecond) {
		t.Errorf("first probe after the return: %+v, want a new run", got)
	}
}

// The failure timeout is memberlist's own bound: probe round, failed probe
// and the longest suspicion.
func TestFailureTimeoutIsMemberlistsDetectionBound(t *testing.T) {
	lt := LoopbackTiming()
	for _, tc := range []struct {
		members int
		want    time.Duration
	}{
		// 2 × 200 ms round, 200 ms probe, 2 × 3 × 1 × 200 ms suspicion.
		{3, 1800 * time.Millisecond},
		{1, 1600 * time.Millisecond},
		// log10(20) scales the suspicion.
		{20, 19*200*time.Millisecond + 200*time.Millisecond + 2*time.Duration(3*math.Log10(20)*float64(200*time.Millisecond))},
	} {
		if got := failureTimeout(lt, tc.members); got != tc.want {
			t.Errorf("%d members: %v, want %v", tc.members, got, tc.want)
		}
	}
}

// Probes go round at ProbeInterval however often this node refutes a
// suspicion or misses a nack: Lifeguard's stretching is off by default
// (a one-way partition of a third member makes the others do both
// continually), and only an explicit Timing turns it on.
func TestProbeRoundIsNotStretchedByDefault(t *testing.T) {
	for _, tc := range []struct {
		set, want int
	}{{0, 1}, {8, 8}} {
		cfg, ip, port, err := Config{Name: "a", Gossip: "127.0.0.1:0", Timing: Timing{AwarenessMaxMultiplier: tc.set}}.checked()
		if err != nil {
			t.Fatal(err)
		}
		mc := memberlistConfig(cfg, ip, port, nil, newView("a", cfg.Logger))
		if mc.AwarenessMaxMultiplier != tc.want {
			t.Errorf("Timing.AwarenessMaxMultiplier %d: memberlist gets %d, want %d", tc.set, mc.AwarenessMaxMultiplier, tc.want)
		}
	}
}
