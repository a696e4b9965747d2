package node

import (
	"testing"
	"time"
)

// A quorum held without a break covers what happened since its run began;
// a sample without quorum, a gap between samples (a stall) or a sampler
// that has not run lately breaks it.
func TestContinuityBreaksOnLossGapsAndStaleSamples(t *testing.T) {
	base := time.Unix(1000, 0)
	at := func(d time.Duration) time.Time { return base.Add(d) }
	var c continuity
	if c.heldThrough(at(0), at(0)) {
		t.Fatal("held before any sample")
	}
	for i := range 10 {
		c.observe(at(time.Duration(i)*100*time.Millisecond), true)
	}
	now := at(900 * time.Millisecond)
	if !c.heldThrough(now, at(500*time.Millisecond)) || !c.heldThrough(now, at(0)) {
		t.Errorf("run since %v does not cover 0.5 s", c.heldSince(now))
	}
	if c.heldThrough(now, at(-time.Millisecond)) {
		t.Error("run covers a moment before its first sample")
	}
	// Stalled: no sample for 10 s. Until the sampler runs again nothing is
	// held, and once it does the run starts afresh.
	woke := at(10900 * time.Millisecond)
	if !c.stalledAfter(woke, at(800*time.Millisecond)) {
		t.Error("a sampler 10 s behind is not a stall")
	}
	if !c.heldSince(woke).IsZero() {
		t.Errorf("held since %v with the sampler 10 s behind", c.heldSince(woke))
	}
	c.observe(woke, true)
	if c.heldThrough(woke, at(500*time.Millisecond)) || !c.heldSince(woke).Equal(woke) {
		t.Errorf("after a stall: held since %v, want %v", c.heldSince(woke), woke)
	}
	if !c.stalledAfter(woke, at(800*time.Millisecond)) || c.stalledAfter(woke, woke) {
		t.Error("the stall is not after 0.8 s, or is after the wake")
	}
	// Quorum lost for a sample: broken too, but no stall.
	c.observe(woke.Add(100*time.Millisecond), false)
	c.observe(woke.Add(200*time.Millisecond), true)
	if got := c.heldSince(woke.Add(200 * time.Millisecond)); !got.Equal(woke.Add(200 * time.Millisecond)) {
		t.Errorf("after a loss: held since %v", got)
	}
	if c.stalledAfter(woke.Add(200*time.Millisecond), woke) {
		t.Error("a loss of quorum counted as a stall")
	}
	var fresh continuity
	if fresh.stalledAfter(at(0), at(-time.Hour)) {
		t.Error("stalled before the first sample")
	}
}
