package conference

import (
	"errors"
	"slices"
	"testing"

	"focal/actors/bridge"
	"focal/proto"
	"focal/xmpp"
	"focal/xmpp/session"
)

// roomMeetingID is what mod_muc_meeting_id would have given a room.
const roomMeetingID = "6c3a9e2f-8d41-4b7a-9f05-2e1d7c4b8a90"

// The focus joins with Jicofo's presence extensions: the conference's
// properties (it restarts sessions on request, no bridge yet) and its
// version.
func TestJoinPresenceCarriesConferencePropertiesAndVersion(t *testing.T) {
	h := newHarness(t)
	c := h.start("room1@conference." + testDomain)
	p := xmpp.ParseFocusPresence(c.join)
	if p.Version != testVersion {
		t.Errorf("version %q, want %q", p.Version, testVersion)
	}
	if v, ok := p.Property(xmpp.PropSupportTerminateRestart); !ok || v != "true" {
		t.Errorf("support-terminate-restart = %q, %v", v, ok)
	}
	if v, ok := p.Property(xmpp.PropBridgeCount); !ok || v != "0" {
		t.Errorf("bridge-count = %q, %v", v, ok)
	}
	if p.BridgeNotAvailable {
		t.Error("bridgeNotAvailable before any selection")
	}
}

// The focus's presence is updated, with a presence that is no join (no
// MUC <x/>), each time the conference's bridge count changes, and only
// then.
func TestPresenceUpdateTellsTheBridgeCountWhenItChanges(t *testing.T) {
	h := newHarness(t)
	c := h.joined("room1@conference." + testDomain)
	twoInCall(t, c) // bridge-count 1, taken by inCall
	c.presence("alice", "", "alice@"+testDomain+"/web", xmpp.AffiliationOwner, xmpp.RoleModerator)
	c.nothingMore("alice's presence again: the bridge count is the same")

	c.joins("carol", "carol@"+testDomain+"/web")
	c.ready("carol")
	c.answerSelect(jvb2)
	update := c.wire.awaitSent(t, "the presence update for jvb2", c.isPresenceUpdate)
	if v, _ := xmpp.ParseFocusPresence(update).Property(xmpp.PropBridgeCount); v != "2" {
		t.Errorf("bridge-count %q after carol was placed on jvb2, want 2", v)
	}
	if update.Child(xmpp.NSMUC, "x") != nil || update.AttrValue("type") != "" || xmpp.ParseFocusPresence(update).Version != testVersion {
		t.Errorf("presence update %s", update)
	}
	c.allocate("carol", jvb2)
	c.awaitInitiate("carol")
	c.nothingMore("carol invited")

	c.leaves("carol")
	c.bridgeWire.awaitRequest(t, "the conference expired on jvb2", colibriTo(jvb2, expiresConference)).result(nil)
	c.awaitBridgeCount(1)
	c.nothingMore("carol left")
}

// While no bridge can be selected the focus's presence carries
// <bridgeNotAvailable/>; it stays through a retry still in flight, and
// goes (with the new bridge count, in one update) once a bridge is
// selected.
func TestBridgeNotAvailableInPresenceUntilABridgeIsSelected(t *testing.T) {
	h := newHarness(t)
	c := h.joined("room1@conference." + testDomain)
	c.joins("alice", "")
	c.joins("bob", "")
	c.ready("alice")
	c.ready("bob")
	c.barrier()
	h.brewery.answer(h.root, c.awaitSelect(), &bridge.Selected{Err: errors.New("no bridge")})
	c.awaitPresenceUpdate("bridgeNotAvailable", func(p xmpp.FocusPresence) bool {
		v, _ := p.Property(xmpp.PropBridgeCount)
		return p.BridgeNotAvailable && v == "0"
	})
	c.nothingMore("no bridge")

	c.send(&bridge.Up{Bridge: jvb3})
	r := c.awaitSelect()
	c.nothingMore("a selection in flight")
	h.brewery.answer(h.root, r, &bridge.Selected{Bridge: jvb3})
	c.awaitBridgeCount(1) // and without bridgeNotAvailable
	c.allocate("alice", jvb3)
	c.awaitInitiate("alice")
}

// inRoomAwaitingInfo starts a conference whose focus is in the room with
// alice and bob ready, its disco#info to the room not yet answered: no
// Select may be made meanwhile. It returns the conference's generated
// meeting id.
func inRoomAwaitingInfo(t *testing.T, h *harness) (*tconf, string) {
	t.Helper()
	c := h.start("room1@conference." + testDomain)
	c.request()
	c.selfPresence()
	awaitRecorded[*focalpb.ConferenceResponse](c, "the answer to the request", nil)
	c.joins("alice", "")
	c.joins("bob", "")
	c.ready("alice")
	c.ready("bob")
	c.barrier()
	h.syncBrewery()
	if early := h.brewery.q.pending(); len(early) != 0 {
		t.Fatalf("Select before the room's disco#info is answered: %v", early)
	}
	generated := c.snapshot().MeetingID
	if generated == "" {
		t.Fatal("no generated meeting id")
	}
	return c, generated
}

// placeBoth places alice and bob on jvb1 and returns the meeting id of
// the allocations.
func placeBoth(t *testing.T, c *tconf) string {
	t.Helper()
	var ids []string
	for _, nick := range []string{"alice", "bob"} {
		c.answerSelect(jvb1)
		ids = append(ids, c.allocate(nick, jvb1).MeetingID)
		c.awaitInitiate(nick)
	}
	if ids[0] != ids[1] {
		t.Fatalf("allocations in meetings %v", ids)
	}
	return ids[0]
}

// The room's muc#roominfo_meetingId (mod_muc_meeting_id) becomes the
// conference's meeting id, the one its Colibri2 requests carry; no bridge
// is chosen before the room has answered.
func TestMeetingIDFromTheRoomIsTheColibriMeetingID(t *testing.T) {
	h := newHarness(t)
	c, _ := inRoomAwaitingInfo(t, h)
	c.roomInfo(roomMeetingID)
	if got := placeBoth(t, c); got != roomMeetingID {
		t.Errorf("Colibri2 meeting-id %q, want the room's %q", got, roomMeetingID)
	}
	if got := c.snapshot().MeetingID; got != roomMeetingID {
		t.Errorf("snapshot's meeting id %q, want the room's %q", got, roomMeetingID)
	}
}

// A room without a meeting id leaves the conference its generated one.
func TestRoomWithoutMeetingIDKeepsTheGeneratedOne(t *testing.T) {
	h := newHarness(t)
	c, generated := inRoomAwaitingInfo(t, h)
	c.roomInfo("")
	if got := placeBoth(t, c); got != generated {
		t.Errorf("Colibri2 meeting-id %q, want the generated %q", got, generated)
	}
}

// A disco#info that fails (an error, or a timeout) leaves the conference
// its generated meeting id, and bridges are chosen then.
func TestRoomInfoFailureKeepsTheGeneratedMeetingID(t *testing.T) {
	for name, answer := range map[string]func(*wireItem){
		"error":   func(it *wireItem) { it.fail(xmpp.ServiceUnavailable) },
		"timeout": func(it *wireItem) { it.cb(nil, session.ErrTimeout) },
	} {
		t.Run(name, func(t *testing.T) {
			h := newHarness(t)
			c, generated := inRoomAwaitingInfo(t, h)
			answer(c.wire.awaitRequest(t, "disco#info to the room", c.isRoomInfo))
			if got := placeBoth(t, c); got != generated {
				t.Errorf("Colibri2 meeting-id %q, want the generated %q", got, generated)
			}
		})
	}
}

// A conference taken over (here by a standby that has to join afresh)
// keeps the replicated meeting id, the one its bridges know: it does not
// ask the room again.
func TestPromotedConferenceKeepsTheReplicatedMeetingID(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.Node = "node1" })
	c, _ := inRoomAwaitingInfo(t, h)
	c.send(&ReplicaIs{PID: c.recPID})
	r := &replicaView{}
	c.roomInfo(roomMeetingID)
	placeBoth(t, c)
	r.barrier(c, "both placed")
	if r.latest.GetMeetingId() != roomMeetingID {
		t.Fatalf("replicated meeting id %q, want the room's %q", r.latest.GetMeetingId(), roomMeetingID)
	}

	s := h.standby(c.room, r.latest)
	s.promote(false)
	s.wire.awaitSent(t, "the join presence", isFocusPresence(c.room))
	s.joins("alice", "")
	s.joins("bob", "")
	s.selfPresence()
	s.barrier()
	if asked := slices.ContainsFunc(s.wire.q.pending(), func(it *wireItem) bool { return s.isRoomInfo(it.el) }); asked {
		t.Error("the promoted conference asked the room for its meeting id again")
	}
	if got := s.snapshot().MeetingID; got != roomMeetingID {
		t.Errorf("promoted conference's meeting id %q, want the replicated %q", got, roomMeetingID)
	}
}
