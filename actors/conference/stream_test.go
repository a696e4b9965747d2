package conference

import (
	"slices"
	"testing"

	"focal/xmpp"
)

// The focus's stream came back as a new session (not resumed): the server
// took the focus out of the room with the old one, so it joins again;
// the occupant list of that join says who is still there. bob, not in it,
// is forgotten: his endpoint expired and his sources removed from alice's
// session; alice is kept as she was.
func TestStreamUpWithANewSessionRejoinsAndForgetsWhoDidNotComeBack(t *testing.T) {
	h := newHarness(t)
	c := h.joined("room1@conference." + testDomain)
	sids := twoInCall(t, c)

	c.send(&StreamDown{})
	c.send(&StreamUp{Addr: testFocusAddr, Session: "sm-2"})
	join := c.wire.awaitSent(t, "the re-join presence", isFocusPresence(c.room))
	if join.AttrValue("type") != "" || join.Child(xmpp.NSMUC, "x") == nil {
		t.Fatalf("re-join presence %s", join)
	}
	c.presence("alice", "", "alice@"+testDomain+"/web", xmpp.AffiliationOwner, xmpp.RoleModerator)
	c.selfPresence()

	c.bridgeWire.awaitRequest(t, "bob's endpoint expired", colibriTo(jvb1, expiresEndpoint("bob"))).result(nil)
	rm := c.wire.awaitRequest(t, "source-remove to alice", jingleTo(c.occupant("alice"), xmpp.JingleSourceRemove))
	rm.result(nil)
	if j := jingleOf(rm.el); j.SID != sids["alice"] || !slices.Equal(ssrcsIn(j)[c.occupant("bob")], []int64{2001, 2002}) {
		t.Errorf("source-remove to alice: sid %q sources %v", j.SID, ssrcsIn(j))
	}
	c.nothingMore("after the re-join")
	s := c.snapshot()
	if _, there := s.member("bob"); there || len(s.Participants) != 1 || !s.Joined {
		t.Errorf("after the re-join: joined %v participants %+v", s.Joined, s.Participants)
	}
	if m, _ := s.member("alice"); m.JingleSID != sids["alice"] || m.JingleState != "active" || m.Bridge != jvb1 {
		t.Errorf("alice after the re-join: %+v", m)
	}
}

// A resumed session (XEP-0198) is still in the room: StreamUp sends
// nothing and changes nobody.
func TestStreamUpResumedSendsNothing(t *testing.T) {
	h := newHarness(t)
	c := h.joined("room1@conference." + testDomain)
	twoInCall(t, c)

	c.send(&StreamDown{})
	c.send(&StreamUp{Addr: testFocusAddr, Session: "sm-1", Resumed: true})
	c.nothingMore("after a resumed StreamUp")
	if s := c.snapshot(); !s.Joined || len(s.Participants) != 2 {
		t.Errorf("after a resumed StreamUp: joined %v participants %+v", s.Joined, s.Participants)
	}
}
