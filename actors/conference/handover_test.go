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
