package conference

import (
	"slices"
	"testing"

	"focal/proto"
	"focal/xmpp"
)

// A request that reached the conference just before a handover is in the
// final state, though its participant's actor was still handling it: the
// session's count, which the new owner resumes from, includes it, so the
// server never sends it again.
func TestHandOverWaitsForRequestsItsParticipantsAreHandling(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.Node = "node1" })
	c, r, sids := h.owned("room1@conference." + testDomain)
	r.barrier(c, "before the handover")

	add := c.jingleIQ("alice", &xmpp.Jingle{Action: xmpp.JingleSourceAdd, SID: sids["alice"], Contents: screenShare.JingleContents("")})
	c.deliver(add)
	c.send(&HandOver{To: c.recPID, Node: "node2"})

	// States the replica is sent while alice's actor finishes, then the
	// final one.
	final := c.awaitFinalState(t)
	var handled []string
	for _, m := range final.Members {
		if m.Nick == "alice" {
			handled = m.Handled
		}
	}
	if !slices.Contains(handled, add.AttrValue("id")) {
		t.Errorf("alice's source-add %s is not among her handled requests %v in the final state", add.AttrValue("id"), handled)
	}
	answered := false
	for _, out := range final.Outbox {
		el, err := xmpp.Parse([]byte(out.Xml))
		if err == nil && el.AttrValue("id") == add.AttrValue("id") && el.AttrValue("type") == xmpp.IQResult {
			answered = true
		}
	}
	for _, it := range c.wire.q.pending() {
		if replyTo(add.AttrValue("id"), xmpp.IQResult)(it.el) {
			answered = true // acknowledged by the replica before the handover: sent
		}
	}
	if !answered {
		t.Errorf("alice's source-add is answered neither on the wire nor in the final state's outbox")
	}
	c.awaitStopped()
}

// A source-add answered just before the node lets the conference go: its
// bridge update went to the colibri session actor, which stops with the
// conference, maybe before sending it. Unless a barrier confirmed the
// update (one of the session's, or the let-go's own, which its children
// answer in time), the final state marks alice behind at the bridge, so
// that the next owner sends her sources again (the flapping partition
// lost sources at the bridge without the mark).
func TestLetGoMarksBridgeUpdatesNoBarrierConfirmedAsBehind(t *testing.T) {
	for _, confirmed := range []string{"by the session", "by the let-go", "not in time"} {
		t.Run(confirmed, func(t *testing.T) {
			h := newHarness(t, func(c *Config) { c.Node = "node1" })
			c, r, sids := h.owned("room1@conference." + testDomain)
			r.barrier(c, "before the source-add")

			add := c.jingleIQ("alice", &xmpp.Jingle{Action: xmpp.JingleSourceAdd, SID: sids["alice"], Contents: screenShare.JingleContents("")})
			c.deliver(add)
			c.awaitResult(add.AttrValue("id"), "alice's source-add")
			if confirmed == "by the session" {
				r.barrier(c, "after the source-add")
			}
			c.send(&LetGo{})
			if confirmed == "not in time" {
				// Ahead of the children's answers, which the let-go has
				// not even asked for yet: a child too slow to answer.
				c.send(childrenDone{answered: false})
			}
			final := c.awaitFinalState(t)
			for _, m := range final.Members {
				if want := confirmed == "not in time"; m.Nick == "alice" && m.BridgeBehind != want {
					t.Errorf("alice behind at the bridge in the final state: %v, want %v", m.BridgeBehind, want)
				}
				if m.Nick == "bob" && m.BridgeBehind {
					t.Errorf("bob, whose sources did not change, behind at the bridge in the final state")
				}
			}
			c.awaitStopped()
		})
	}
}

// A request that reached the conference just before the node lets it go
// is in the final state, though its participant's actor was still
// handling it: the session the node releases counts it, and the replica
// resumes past it (the flapping partition lost three requests read just
// before a let-go so). A let-go waits for the children as a handover does,
// briefly.
func TestLetGoWaitsForRequestsItsParticipantsAreHandling(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.Node = "node1" })
	c, r, sids := h.owned("room1@conference." + testDomain)
	r.barrier(c, "before the let-go")

	add := c.jingleIQ("alice", &xmpp.Jingle{Action: xmpp.JingleSourceAdd, SID: sids["alice"], Contents: screenShare.JingleContents("")})
	c.deliver(add)
	c.send(&LetGo{})

	final := c.awaitFinalState(t)
	for _, m := range final.Members {
		if m.Nick == "alice" && !slices.Contains(m.Handled, add.AttrValue("id")) {
			t.Errorf("alice's source-add %s is not among her handled requests %v in the final state", add.AttrValue("id"), m.Handled)
		}
	}
	c.awaitStopped()
}

// awaitFinalState takes the states the replica is sent until the parent is
// told the conference ended, and returns the last, which must be final.
func (c *tconf) awaitFinalState(t testing.TB) *focalpb.ConferenceState {
	t.Helper()
	states, _ := c.rec.q.takeUntil(t, "Ended to the parent", func(v any) bool { _, ok := v.(*Ended); return ok }, isState)
	if len(states) == 0 || !states[len(states)-1].(*focalpb.ConferenceState).Final {
		t.Fatalf("states before Ended: %v, want the final one last", states)
	}
	return states[len(states)-1].(*focalpb.ConferenceState)
}

// The final state of a handover goes again until the new owner
// acknowledges it: sent once, it was lost in an actor link still down
// after a partition healed, with the requests it answered. The conference
// ends only once it is acknowledged.
func TestTheFinalStateGoesAgainUntilAcknowledged(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.Node = "node1" })
	c, r, _ := h.owned("room1@conference." + testDomain)
	r.barrier(c, "before the handover")

	c.rec.withholdAcks()
	c.send(&HandOver{To: c.recPID, Node: "node2"})
	isFinal := func(st *focalpb.ConferenceState) bool { return st.Final }
	first := awaitRecorded(c, "the final state", isFinal)
	c.rec.loseHeld() // the first one is lost on the way
	states, _ := c.rec.q.takeUntil(t, "Ended to the parent", func(v any) bool { _, ok := v.(*Ended); return ok }, isState)
	again := 0
	for _, v := range states {
		if st := v.(*focalpb.ConferenceState); st.Final && st.Version == first.Version {
			again++
		} else {
			t.Errorf("after the final state, another state went: version %d, final %v", st.Version, st.Final)
		}
	}
	if again == 0 {
		t.Error("the conference ended without sending the final state again")
	}
	c.awaitStopped()
}

// A handover whose final state the new owner never acknowledges is given
// up: the conference tells its directory and drives on, and what it held
// back for the final state goes once the replica has it.
func TestAHandOverNeverAcknowledgedIsGivenUp(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.Node = "node1" })
	c, r, sids := h.owned("room1@conference." + testDomain)
	r.barrier(c, "before the handover")

	c.rec.withholdAcks()
	add := c.jingleIQ("alice", &xmpp.Jingle{Action: xmpp.JingleSourceAdd, SID: sids["alice"], Contents: screenShare.JingleContents("")})
	c.deliver(add)
	c.send(&HandOver{To: c.recPID, Node: "node2"})
	states, _ := c.rec.q.takeUntil(t, "the handover given up", func(v any) bool { _, ok := v.(*HandOverAborted); return ok }, isState)
	finals := 0
	for _, v := range states {
		if v.(*focalpb.ConferenceState).Final {
			finals++
		}
	}
	if finals != finalAttempts {
		t.Errorf("the final state went %d times, want %d", finals, finalAttempts)
	}
	c.nothingMore("a handover pending")
	// Driving on: the replica acknowledges again, and the answer goes.
	c.rec.releaseAcks(h.root)
	c.awaitResult(add.AttrValue("id"), "alice's source-add, after the handover was given up")
	c.wire.awaitRequest(t, "source-add to bob", jingleTo(c.occupant("bob"), xmpp.JingleSourceAdd)).result(nil)
}
