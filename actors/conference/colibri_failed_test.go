package conference

import (
	"errors"
	"slices"
	"testing"

	"focal/actors/bridge"
	"focal/xmpp"
)

// bridgeSessionOn is the id of the conference's colibri session on jid.
func (c *tconf) bridgeSessionOn(jid string) string {
	c.t.Helper()
	for _, b := range c.snapshot().Bridges {
		if b.JID == jid {
			return b.Session
		}
	}
	c.t.Fatalf("no bridge session on %s", jid)
	return ""
}

// reinvited awaits nick's move to bridgeJID: its new endpoint there (which
// creates the conference there if create), its old session (oldSID)
// terminated and a new one offered; it returns the new offer.
func (c *tconf) reinvited(nick, bridgeJID, oldSID string, create bool) *xmpp.Jingle {
	c.t.Helper()
	if mod := c.allocate(nick, bridgeJID); mod.Create != create {
		c.t.Errorf("%s's allocation on %s: create %v, want %v", nick, bridgeJID, mod.Create, create)
	}
	term := c.wire.awaitRequest(c.t, "the old session of "+nick+" terminated", jingleTo(c.occupant(nick), xmpp.JingleSessionTerminate))
	term.result(nil)
	if j := jingleOf(term.el); j.SID != oldSID {
		c.t.Errorf("terminated %q, want %s's old session %q", j.SID, nick, oldSID)
	}
	offer := c.awaitInitiate(nick)
	if offer.SID == oldSID || offer.BridgeSession == nil {
		c.t.Errorf("%s's new offer: sid %q bridge-session %+v", nick, offer.SID, offer.BridgeSession)
	}
	return offer
}

// A colibri session lost on the bridge (ScopeSession) moves everybody on
// that bridge: a new Select, a new endpoint in a new colibri session
// (which creates the conference on the bridge picked), and a new Jingle
// session. The bridge is not reported failed unless the failure says so.
func TestColibriSessionLostMovesEveryoneOnTheBridge(t *testing.T) {
	h := newHarness(t)
	c := h.joined("room1@conference." + testDomain)
	sids := twoInCall(t, c)
	old := c.bridgeSessionOn(jvb1)

	c.send(&bridge.ColibriFailed{Bridge: jvb1, Session: old, Scope: bridge.ScopeSession, Err: errors.New("conference not found")})
	for i, nick := range []string{"alice", "bob"} {
		r := c.answerSelect(jvb2)
		if i == 0 && len(r.sel.Bridges) != 0 {
			t.Errorf("Select after the session on jvb1 was lost: %v, want no bridges", r)
		}
		offer := c.reinvited(nick, jvb2, sids[nick], i == 0)
		if offer.BridgeSession.ID == old {
			t.Errorf("%s's new offer is in the lost bridge session %q", nick, old)
		}
	}
	s := c.snapshot()
	if len(s.Bridges) != 1 || s.Bridges[0].JID != jvb2 || s.Bridges[0].Session == old || s.Bridges[0].Endpoints != 2 {
		t.Errorf("bridges after the move: %+v", s.Bridges)
	}
	for _, it := range c.bridgeWire.q.pending() {
		if it.el.AttrValue("to") == jvb1 {
			t.Errorf("asked jvb1 after its session was lost: %s", it)
		}
	}
	h.syncBrewery()
	if failed := h.brewery.failed.pending(); len(failed) != 0 {
		t.Errorf("bridges reported failed: %v", failed)
	}
}

// An endpoint the bridge lost (ScopeEndpoint) moves that participant
// alone: its sources are withdrawn from the others, it gets a new
// endpoint (in the same colibri session when the brewery picks the same
// bridge) and a new Jingle session; the others are not disturbed.
func TestColibriEndpointLostMovesThatParticipant(t *testing.T) {
	h := newHarness(t)
	c := h.joined("room1@conference." + testDomain)
	sids := twoInCall(t, c)
	session := c.bridgeSessionOn(jvb1)

	c.send(&bridge.ColibriFailed{Bridge: jvb1, Session: session, Endpoint: "alice", Scope: bridge.ScopeEndpoint, Err: errors.New("unknown endpoint")})
	rm := c.wire.awaitRequest(t, "source-remove to bob", jingleTo(c.occupant("bob"), xmpp.JingleSourceRemove))
	rm.result(nil)
	if got := ssrcsIn(jingleOf(rm.el))[c.occupant("alice")]; !slices.Equal(got, []int64{1001, 1002}) {
		t.Errorf("source-remove to bob: %v", ssrcsIn(jingleOf(rm.el)))
	}
	if r := c.answerSelect(jvb1); len(r.sel.Bridges) != 1 || r.sel.Bridges[0].JID != jvb1 || r.sel.Bridges[0].Participants != 1 {
		t.Errorf("Select for alice: %v, want [jvb1(1)]", r)
	}
	offer := c.reinvited("alice", jvb1, sids["alice"], false)
	if offer.BridgeSession.ID != session {
		t.Errorf("alice's new offer in bridge session %q, want the same %q", offer.BridgeSession.ID, session)
	}
	c.nothingMore("after alice's move")
	h.syncBrewery()
	if more := h.brewery.q.pending(); len(more) != 0 {
		t.Errorf("more Selects: %v", more)
	}
	if m, _ := c.snapshot().member("bob"); m.JingleSID != sids["bob"] || m.JingleState != "active" || m.Bridge != jvb1 {
		t.Errorf("bob after alice's move: %+v", m)
	}
}

// A request the bridge refuses as invalid (ScopeRequest: alice's
// allocation answered bad-request) would be refused again: alice is left
// without media and not invited, then or later (carol's arrival starts a
// selection for carol alone); bob carries on.
func TestColibriRequestRefusedLeavesTheParticipantWithoutMedia(t *testing.T) {
	h := newHarness(t)
	c := h.joined("room1@conference." + testDomain)
	c.joins("bob", "bob@"+testDomain+"/web")
	c.wire.awaitRequest(t, "owner grant", ownerGrant(c.room, "bob@"+testDomain)).result(nil)
	c.presence("bob", "", "bob@"+testDomain+"/web", xmpp.AffiliationOwner, xmpp.RoleModerator)
	c.joins("alice", "alice@"+testDomain+"/web")
	c.ready("bob")
	c.barrier()
	c.ready("alice")
	c.barrier()
	c.answerSelect(jvb1)
	c.awaitBridgeCount(1)
	c.allocate("bob", jvb1)
	c.awaitInitiate("bob")

	c.answerSelect(jvb1)
	c.bridgeWire.awaitRequest(t, "alice's allocation", colibriTo(jvb1, createsEndpoint("alice"))).fail(xmpp.BadRequest)
	c.nothingMore("after alice's allocation was refused")
	h.syncBrewery()
	if more := h.brewery.q.pending(); len(more) != 0 {
		t.Errorf("Selects after alice's allocation was refused: %v", more)
	}
	if m, _ := c.snapshot().member("alice"); m.Bridge != "" || m.JingleSID != "" {
		t.Errorf("alice after the refusal: %+v", m)
	}

	c.joins("carol", "carol@"+testDomain+"/web")
	c.ready("carol")
	c.answerSelect(jvb1)
	c.allocate("carol", jvb1)
	c.awaitInitiate("carol")
	c.nothingMore("after carol's invite")
	h.syncBrewery()
	if more := h.brewery.q.pending(); len(more) != 0 {
		t.Errorf("Selects after carol's invite (alice re-invited?): %v", more)
	}
	if failed := h.brewery.failed.pending(); len(failed) != 0 {
		t.Errorf("bridges reported failed: %v", failed)
	}
}

// A failure that says the bridge itself is broken (an allocation answered
// internal-server-error: ScopeSession, MarkFailed) is reported to the
// brewery as bridge.Failed, and everybody on the bridge moves.
func TestColibriFailureMarkingTheBridgeFailedTellsTheBrewery(t *testing.T) {
	h := newHarness(t)
	c := h.joined("room1@conference." + testDomain)
	sids := twoInCall(t, c)

	c.joins("carol", "carol@"+testDomain+"/web")
	c.ready("carol")
	c.answerSelect(jvb1)
	c.bridgeWire.awaitRequest(t, "carol's allocation", colibriTo(jvb1, createsEndpoint("carol"))).fail(xmpp.InternalServerError)
	h.brewery.failed.take(t, "jvb1 reported failed", func(b string) bool { return b == jvb1 })

	// Everybody needs a new bridge, in join order.
	for i, nick := range []string{"alice", "bob", "carol"} {
		r := c.answerSelect(jvb2)
		if slices.ContainsFunc(r.sel.Bridges, func(b bridge.ConferenceBridge) bool { return b.JID == jvb1 }) {
			t.Errorf("Select for %s with the failed jvb1: %v", nick, r)
		}
		if nick == "carol" {
			c.allocate(nick, jvb2)
			c.awaitInitiate(nick)
			continue
		}
		c.reinvited(nick, jvb2, sids[nick], i == 0)
	}
	s := c.snapshot()
	if len(s.Bridges) != 1 || s.Bridges[0].JID != jvb2 || s.Bridges[0].Endpoints != 3 {
		t.Errorf("bridges after the move: %+v", s.Bridges)
	}
}

// An allocation refused as invalid (ScopeRequest) that was the one
// creating the conference on the bridge leaves no conference there: the
// next allocation in that colibri session must create it.
//
// It does not: the colibri session takes the conference as created once
// it has sent the create (actors/bridge, colibriSession.send), whatever
// the answer, so bob's allocation goes without create, the bridge answers
// conference-not-found, and the session is dropped as lost (everybody on
// it moved) for a conference that was never there.
func TestColibriCreateRefusedLeavesTheNextAllocationToCreate(t *testing.T) {
	h := newHarness(t)
	c := h.joined("room1@conference." + testDomain)
	c.joins("alice", "")
	c.joins("bob", "")
	c.ready("alice")
	c.barrier()
	c.ready("bob")
	c.barrier()
	c.answerSelect(jvb1)
	it := c.bridgeWire.awaitRequest(t, "alice's allocation", colibriTo(jvb1, createsEndpoint("alice")))
	if !colibriOf(it.el).Create {
		t.Fatalf("alice's allocation does not create the conference")
	}
	it.fail(xmpp.BadRequest)

	c.answerSelect(jvb1)
	it = c.bridgeWire.awaitRequest(t, "bob's allocation", colibriTo(jvb1, createsEndpoint("bob")))
	if mod := colibriOf(it.el); !mod.Create {
		t.Errorf("bob's allocation after the create was refused: create %v, want the conference created", mod.Create)
	}
	it.result(conferenceModified(t, "bob"))
	c.awaitInitiate("bob")
}
