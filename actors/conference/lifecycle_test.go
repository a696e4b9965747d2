package conference

import (
	"testing"
	"time"

	"focal/proto"
	"focal/xmpp"
)

// A request that comes before the focus is in the room is answered ready
// only once the room's self-presence (110, owner) says it is; one that
// comes after is answered at once. The first request's options are the
// conference's; a later request's are not.
func TestJoinAnswersRequestsReadyOnceTheFocusIsOwnerInTheRoom(t *testing.T) {
	h := newHarness(t)
	c := h.start("room1@conference." + testDomain)

	c.request("rtcstatsEnabled", "false", "startAudioMuted", "2", "startVideoMuted", "3")
	c.barrier()
	if got := c.rec.q.drop(func(v any) bool { _, ok := v.(*focalpb.ConferenceResponse); return ok }); len(got) != 0 {
		t.Fatalf("answered before the focus is in the room: %v", got)
	}
	if s := c.snapshot(); s.Joined {
		t.Fatalf("snapshot says joined before the self-presence: %+v", s)
	}

	c.selfPresence()
	res := awaitRecorded[*focalpb.ConferenceResponse](c, "the answer to the first request", nil)
	if !res.Ready || res.FocusJid != testFocusJID || res.Room != c.room || res.Error != nil {
		t.Fatalf("first request answered %v", res)
	}

	c.request("rtcstatsEnabled", "true", "startAudioMuted", "9")
	res = awaitRecorded[*focalpb.ConferenceResponse](c, "the answer to the second request", nil)
	if !res.Ready || res.FocusJid != testFocusJID {
		t.Fatalf("second request answered %v", res)
	}

	s := c.snapshot()
	if !s.Joined || s.Focus != testFocusAddr {
		t.Errorf("snapshot: joined %v as %q, want joined as %q", s.Joined, s.Focus, testFocusAddr)
	}
	want := Options{RTCStatsEnabled: false, StartAudioMuted: 2, StartVideoMuted: 3}
	if s.Options != want {
		t.Errorf("options %+v, want the first request's %+v", s.Options, want)
	}
}

// A room that makes the focus anything but owner is no conference: the
// waiting request gets not-allowed, the focus leaves and the parent is told.
func TestJoinAsNonOwnerFailsTheRequestAndEnds(t *testing.T) {
	h := newHarness(t)
	c := h.start("room1@conference." + testDomain)
	c.request()
	c.presence("focus", "", testFocusAddr, xmpp.AffiliationMember, xmpp.RoleParticipant, xmpp.StatusSelfPresence)
	res := awaitRecorded[*focalpb.ConferenceResponse](c, "the answer to the request", nil)
	if res.Ready || res.Error == nil || res.Error.Condition != xmpp.NotAllowed {
		t.Fatalf("request answered %v, want not-allowed", res)
	}
	awaitRecorded[*Ended](c, "Ended to the parent", func(e *Ended) bool { return e.Room == c.room && !e.HandedOver })
}

// The first participant with a real JID (not one without, whom the focus
// cannot name in a muc#admin request) is granted owner; when the owner
// leaves, the next one in join order is.
func TestOwnerElectionGrantsTheFirstAndThenTheNextInJoinOrder(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.Bridges = nil })
	c := h.joined("room1@conference." + testDomain)

	c.joins("anon", "") // no real JID: cannot be granted anything
	c.joins("alice", "alice@"+testDomain+"/web")
	grant := c.wire.awaitRequest(t, "owner grant to alice", ownerGrant(c.room, "alice@"+testDomain))
	c.joins("bob", "bob@"+testDomain+"/web")
	c.joins("carol", "carol@"+testDomain+"/web")
	grant.result(nil)
	c.presence("alice", "", "alice@"+testDomain+"/web", xmpp.AffiliationOwner, xmpp.RoleModerator)
	c.barrier()
	if extra := c.wire.q.drop(func(it *wireItem) bool { return it.el.Child(xmpp.NSMUCAdmin, "query") != nil }); len(extra) != 0 {
		t.Fatalf("more grants while alice is owner: %v", extra)
	}
	if m, _ := c.snapshot().member("alice"); m.Affiliation != xmpp.AffiliationOwner {
		t.Fatalf("alice in the snapshot: %+v", m)
	}

	c.leaves("alice")
	c.wire.awaitRequest(t, "owner grant to bob", ownerGrant(c.room, "bob@"+testDomain)).result(nil)
	c.presence("bob", "", "bob@"+testDomain+"/web", xmpp.AffiliationOwner, xmpp.RoleModerator)

	// A grant the room refuses lets the next election try again.
	c.leaves("bob")
	c.wire.awaitRequest(t, "owner grant to carol", ownerGrant(c.room, "carol@"+testDomain)).fail(xmpp.NotAllowed)
	c.joins("dave", "dave@"+testDomain+"/web")
	c.wire.awaitRequest(t, "owner grant to carol again", ownerGrant(c.room, "carol@"+testDomain)).result(nil)
}

// Nobody joining within the initial timeout ends the conference: the
// focus leaves the room and the parent is told.
func TestNobodyJoiningEndsTheConferenceAfterTheInitialTimeout(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.InitialTimeout = 50 * time.Millisecond })
	c := h.joined("room1@conference." + testDomain)
	awaitRecorded[*Ended](c, "Ended to the parent", func(e *Ended) bool { return e.Room == c.room })
	c.wire.awaitSent(t, "the leave presence", func(el *xmpp.Element) bool {
		return el.Name.Local == xmpp.KindPresence && el.AttrValue("type") == xmpp.PresenceUnavailable && el.AttrValue("to") == c.room+"/focus"
	})
}
