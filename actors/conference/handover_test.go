package conference

import (
	"fmt"
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
	states, _ := c.rec.q.takeUntil(t, "Ended to the parent", func(v any) bool { _, ok := v.(*Ended); return ok }, isState)
	if len(states) == 0 || !states[len(states)-1].(*focalpb.ConferenceState).Final {
		t.Fatalf("states before Ended: %v, want the final one last", states)
	}
	final := states[len(states)-1].(*focalpb.ConferenceState)
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
// conference, maybe before sending it. The final state marks alice behind
// at the bridge, so that the next owner sends her sources again; once a
// barrier has confirmed the update, it does not (the flapping partition
// lost sources at the bridge without the mark).
func TestLetGoMarksBridgeUpdatesNoBarrierConfirmedAsBehind(t *testing.T) {
	for _, confirmed := range []bool{false, true} {
		t.Run(fmt.Sprintf("confirmed=%v", confirmed), func(t *testing.T) {
			h := newHarness(t, func(c *Config) { c.Node = "node1" })
			c, r, sids := h.owned("room1@conference." + testDomain)
			r.barrier(c, "before the source-add")

			add := c.jingleIQ("alice", &xmpp.Jingle{Action: xmpp.JingleSourceAdd, SID: sids["alice"], Contents: screenShare.JingleContents("")})
			c.deliver(add)
			c.awaitResult(add.AttrValue("id"), "alice's source-add")
			if confirmed {
				r.barrier(c, "after the source-add")
			}
			c.send(&LetGo{})
			states, _ := c.rec.q.takeUntil(t, "Ended to the parent", func(v any) bool { _, ok := v.(*Ended); return ok }, isState)
			if len(states) == 0 || !states[len(states)-1].(*focalpb.ConferenceState).Final {
				t.Fatalf("states before Ended: %v, want the final one last", states)
			}
			final := states[len(states)-1].(*focalpb.ConferenceState)
			for _, m := range final.Members {
				if m.Nick == "alice" && m.BridgeBehind == confirmed {
					t.Errorf("alice behind at the bridge in the final state: %v, want %v", m.BridgeBehind, !confirmed)
				}
				if m.Nick == "bob" && m.BridgeBehind {
					t.Errorf("bob, whose sources did not change, behind at the bridge in the final state")
				}
			}
			c.awaitStopped()
		})
	}
}
