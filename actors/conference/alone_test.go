package conference

import (
	"testing"
	"time"

	"focal/xmpp"
)

// A participant left alone has its session terminated (expired) and the
// conference expired on the bridge once the single-participant timeout
// ran out; when somebody joins, it is invited again with a new session.
func TestParticipantLeftAloneLosesItsMediaUntilSomebodyJoins(t *testing.T) {
	h := newHarness(t, func(cfg *Config) { cfg.SingleParticipantTimeout = 100 * time.Millisecond })
	c := h.joined("room1@conference." + testDomain)
	sids := twoInCall(t, c)

	c.leaves("bob")
	c.bridgeWire.awaitRequest(t, "bob's endpoint expired", colibriTo(jvb1, expiresEndpoint("bob"))).result(nil)
	c.wire.awaitRequest(t, "source-remove to alice", jingleTo(c.occupant("alice"), xmpp.JingleSourceRemove)).result(nil)

	term := c.wire.awaitRequest(t, "session-terminate to alice", jingleTo(c.occupant("alice"), xmpp.JingleSessionTerminate))
	term.result(nil)
	if j := jingleOf(term.el); j.SID != sids["alice"] || j.Reason == nil || j.Reason.Condition != xmpp.JingleReasonExpired {
		t.Errorf("session-terminate to alice: %+v", j)
	}
	c.bridgeWire.awaitRequest(t, "the conference expired on jvb1", colibriTo(jvb1, expiresConference)).result(nil)
	c.awaitBridgeCount(0)
	c.barrier()
	s := c.snapshot()
	if m, _ := s.member("alice"); m.Bridge != "" || m.JingleState != "ended" || len(s.Bridges) != 0 {
		t.Errorf("after the timeout: alice %+v, bridges %+v", m, s.Bridges)
	}
	c.nothingMore("after alice's session expired")

	c.joins("carol", "carol@"+testDomain+"/web")
	c.ready("carol")
	c.answerSelect(jvb1) // alice first: she joined first
	c.awaitBridgeCount(1)
	c.allocate("alice", jvb1)
	if offer := c.awaitInitiate("alice"); offer.SID == sids["alice"] {
		t.Errorf("alice re-invited on her old session %s", offer.SID)
	}
	c.answerSelect(jvb1)
	c.allocate("carol", jvb1)
	c.awaitInitiate("carol")
}
