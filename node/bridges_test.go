package node_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"focal/actors/bridge"
	"focal/bench/bridgesim"
	"focal/node"
)

func (h *harness) bridge(ctx context.Context, nick string, stats bridgesim.Stats) *bridgesim.Bridge {
	h.t.Helper()
	b := bridgesim.New(bridgesim.Config{
		Addr:     h.prosody.C2SAddr,
		Domain:   h.prosody.AuthDomain(),
		User:     "jvb",
		Password: h.prosody.JVBPassword,
		Brewery:  h.cfg.Brewery,
		Nick:     nick,
		Stats:    stats,
		Logger:   slog.New(slog.NewTextHandler(discard{}, nil)),
	})
	if err := b.Start(ctx); err != nil {
		h.t.Fatalf("start bridge %s: %v", nick, err)
	}
	h.t.Cleanup(b.Stop)
	return b
}

// readyBridge starts a bridge and waits until the node's brewery lists it.
func (h *harness) readyBridge(ctx context.Context, nick string, stats bridgesim.Stats) *bridgesim.Bridge {
	h.t.Helper()
	b := h.bridge(ctx, nick, stats)
	h.awaitBridges(ctx, "bridge "+nick, func(list []bridge.Snapshot) bool {
		for _, s := range list {
			if s.JID == b.JID() {
				return true
			}
		}
		return false
	})
	return b
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

func (h *harness) bridges(ctx context.Context) []bridge.Snapshot {
	h.t.Helper()
	var out []bridge.Snapshot
	h.getJSON(ctx, "/debug/bridges", &out)
	return out
}

func (h *harness) awaitBridges(ctx context.Context, what string, ok func([]bridge.Snapshot) bool) []bridge.Snapshot {
	h.t.Helper()
	for {
		got := h.bridges(ctx)
		if ok(got) {
			return got
		}
		select {
		case <-ctx.Done():
			h.t.Fatalf("%s: bridges = %+v", what, got)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// withBrewery makes the node discover bridges in the test Prosody's brewery
// and health-check them often.
func withBrewery(c *node.Config) {
	c.Brewery = "jvbbrewery@internal.auth.meet.jitsi"
	c.BridgeHealth = bridge.HealthConfig{Enabled: true, Interval: 300 * time.Millisecond, Timeout: 200 * time.Millisecond}
}

func TestBridgesAreDiscoveredFromBreweryPresenceAndForgottenWhenTheyLeave(t *testing.T) {
	h := newHarness(t, withBrewery)
	ctx := testContext(t, 30*time.Second)
	h.bridge(ctx, "jvb1", bridgesim.Stats{StressLevel: 0.1, Region: "eu"})
	jvb2 := h.bridge(ctx, "jvb2", bridgesim.Stats{StressLevel: 0.5, Region: "us"})
	got := h.awaitBridges(ctx, "two bridges", func(b []bridge.Snapshot) bool { return len(b) == 2 })
	if got[0].Region != "eu" || got[0].Stress != 0.1 || got[1].Region != "us" || got[1].Stress != 0.5 {
		t.Errorf("bridges = %+v", got)
	}
	// Stats changes in presence reach the selector.
	if err := jvb2.UpdateStats(func(s *bridgesim.Stats) { s.StressLevel = 0.9 }); err != nil {
		t.Fatal(err)
	}
	h.awaitBridges(ctx, "jvb2 stress update", func(b []bridge.Snapshot) bool { return len(b) == 2 && b[1].Stress == 0.9 })
	jvb2.Die()
	h.awaitBridges(ctx, "jvb2 gone", func(b []bridge.Snapshot) bool {
		return len(b) == 1 && b[0].JID == "jvbbrewery@internal.auth.meet.jitsi/jvb1"
	})
}

func TestHungBridgeFailsHealthCheckAndIsNotOperational(t *testing.T) {
	h := newHarness(t, withBrewery)
	ctx := testContext(t, 30*time.Second)
	jvb1 := h.bridge(ctx, "jvb1", bridgesim.Stats{StressLevel: 0.1})
	h.awaitBridges(ctx, "jvb1 operational", func(b []bridge.Snapshot) bool { return len(b) == 1 && b[0].Operational })
	// The bridge keeps its XMPP session and brewery presence but stops
	// answering (jicofo#1050): only the health check can tell.
	jvb1.Hang()
	h.awaitBridges(ctx, "jvb1 non-operational", func(b []bridge.Snapshot) bool { return len(b) == 1 && !b[0].Operational })
}
