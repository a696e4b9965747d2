package node

import (
	"sync"
	"time"
)

// continuity watches whether this node has held a quorum without a break,
// and since when. A break is a sample without quorum, or a gap between
// samples longer than stallGap: the process (or the sampling goroutine)
// did not run, as when it is stopped (SIGSTOP), swapped out or in a long
// GC pause. While a node does not run, the others may declare it dead and
// resume its shard sessions; after such a break it must not resume a
// session on its own, whatever its view says a moment later.
type continuity struct {
	mu    sync.Mutex
	since time.Time // start of the current unbroken run with quorum (zero: none)
	last  time.Time // the latest sample
	stall time.Time // the first sample after the latest gap (zero: none yet)
}

// stallGap is the longest gap between two samples (taken every 100 ms)
// that is not a stall. It is as generous as it may be: a loaded machine
// (race detector, two cores, a dozen processes) delays a goroutine by up
// to a second, and a false stall lets every conference of the node go. It
// must stay below the shortest time in which the others can take a
// session over: memberlist's suspicion with a confirmation (0.6 s) after a
// failed probe, plus the promotion delay (1 s).
const stallGap = 1500 * time.Millisecond

// observe records a sample taken at now: whether the node had a quorum.
func (c *continuity) observe(now time.Time, quorum bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	gap := !c.last.IsZero() && now.Sub(c.last) > stallGap
	if gap {
		c.stall = now
	}
	switch {
	case !quorum:
		c.since = time.Time{}
	case c.since.IsZero() || gap:
		c.since = now
	}
	c.last = now
}

// stalledAfter says whether the node stalled after t: a gap between
// samples ended after t, or the sampler has not run for stallGap (it is
// stalled now, or has just woken and not sampled yet). Before the first
// sample it says no.
func (c *continuity) stalledAfter(now, t time.Time) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.last.IsZero() {
		return false
	}
	return now.Sub(c.last) > stallGap || c.stall.After(t)
}

// heldSince is the start of the current unbroken run with quorum as of
// now, or zero: none, or no sample within stallGap (the sampler has not
// run since a stall, and the view it would sample is stale).
func (c *continuity) heldSince(now time.Time) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.last.IsZero() || now.Sub(c.last) > stallGap {
		return time.Time{}
	}
	return c.since
}

// heldThrough says whether the node has held a quorum without a break
// since before t.
func (c *continuity) heldThrough(now, t time.Time) bool {
	since := c.heldSince(now)
	return !since.IsZero() && !since.After(t)
}
