package cluster

import (
	"math/rand/v2"
	"slices"
	"strings"
	"time"
)

// Joining. memberlist's Join is one attempt; a node started before its
// peers would stay a cluster of one. So a node with Join peers runs
// joinLoop, which tries them, backing off between attempts, until one of
// them answers. It is not enough that some other node joined this one: a
// node that lists peers keeps trying them, or two groups started in
// different orders could stay two clusters. After that first success the
// loop tries again whenever the node finds itself alone, which heals the
// case memberlist leaves alone — every peer died or was cut off and came
// back after memberlist stopped gossiping to it.

// others returns peers without this node's own address: a shared --join
// list naming every node would otherwise make each node's first
// "successful" join a join with itself.
func (m *Membership) others(peers []string) []string {
	return slices.DeleteFunc(slices.Clone(peers), func(p string) bool { return p == m.addr })
}

func (m *Membership) joinLoop(peers []string) {
	defer m.joining.Done()
	changes, cancel := m.view.subscribe()
	defer cancel()
	wait := m.timing.JoinRetryMin
	attempts := 0
	joined := false
	for {
		if !joined || m.view.alone() {
			n, err := m.ml.Join(peers)
			attempts++
			if n > 0 && !m.view.alone() {
				m.log.Info("joined cluster", "contacted", n, "members", len(m.view.snapshot()), "attempts", attempts)
				joined, wait, attempts = true, m.timing.JoinRetryMin, 0
				continue
			}
			level := m.log.Debug
			if attempts == 1 {
				level = m.log.Info // once per spell; the rest is noise
			}
			level("no peer reachable yet; retrying in the background", "peers", peers, "err", oneLine(err), "retry", wait)
			select {
			case <-time.After(jitter(wait)):
			case <-m.stopJoin:
				return
			}
			wait = min(2*wait, m.timing.JoinRetryMax)
			continue
		}
		select {
		case <-changes:
		case <-m.stopJoin:
			return
		}
	}
}

// jitter spreads retries over [d/2, d] so that nodes started together do
// not knock in step.
func jitter(d time.Duration) time.Duration {
	half := d / 2
	return half + rand.N(d-half+1)
}

// oneLine flattens memberlist's multi-line join errors for the log.
func oneLine(err error) string {
	if err == nil {
		return ""
	}
	return strings.Join(strings.Fields(err.Error()), " ")
}

// stopJoining ends joinLoop and waits for it, at most one Join attempt
// (Timing.TCPTimeout per unreachable peer).
func (m *Membership) stopJoining() {
	m.stopJoinOnce.Do(func() { close(m.stopJoin) })
	m.joining.Wait()
}
