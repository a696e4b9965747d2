package conference

import (
	"testing"
	"time"

	"focal/proto"
	"focal/xmpp"
)

// Breakout rooms (Jitsi's mod_muc_breakout_rooms): a room on the breakout
// MUC service is a conference like a main one, without an auto-owner;
// its disco#info names its main room, which the state keeps.
func TestABreakoutRoomHasNoAutoOwnerAndKnowsItsMainRoom(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.MUCDomain = "conference." + testDomain })
	c := h.start("b1@breakout." + testDomain)
	c.request()
	c.selfPresence()
	if res := awaitRecorded[*focalpb.ConferenceResponse](c, "the answer to the request", nil); !res.Ready {
		t.Fatalf("request answered %v", res)
	}
	field := func(name, value string) *xmpp.Element {
		return xmpp.NewElement(xmpp.NSDataForm, "field", "var", name).Append(xmpp.NewElement(xmpp.NSDataForm, "value").WithText(value))
	}
	main := "main@conference." + testDomain
	q := xmpp.NewElement(xmpp.NSDiscoInfo, "query").Append(xmpp.NewElement(xmpp.NSDataForm, "x", "type", "result").Append(
		field("FORM_TYPE", xmpp.FormTypeRoomInfo),
		field(xmpp.FieldRoomInfoIsBreakout, "true"),
		field(xmpp.FieldRoomInfoMainRoom, main)))
	c.wire.awaitRequest(t, "disco#info to the room", c.isRoomInfo).result(q)

	for _, nick := range []string{"alice", "bob"} {
		c.joins(nick, nick+"@"+testDomain+"/web")
		c.wire.awaitRequest(t, "disco#info to "+nick, discoTo(c.occupant(nick)))
	}
	c.nothingMore("participants joined a breakout room: nobody is made owner")
	c.send(&ReplicaIs{PID: c.recPID})
	r := &replicaView{}
	r.check(c, "the replica named")
	if r.latest.MainRoom != main {
		t.Errorf("the state's main room %q, want %q", r.latest.MainRoom, main)
	}
}

// The last participant leaving a main room for a breakout room (status
// switch_room) does not end the conference as a last leave would (after
// EmptyTimeout): people come back from breakout rooms. The same room
// emptied by an ordinary leave ends.
func TestAMainRoomOutlivesItsLastParticipantMovingToABreakoutRoom(t *testing.T) {
	const empty = 50 * time.Millisecond
	h := newHarness(t, func(c *Config) { c.EmptyTimeout = empty; c.MUCDomain = "conference." + testDomain })
	c := h.joined("main@conference." + testDomain)
	c.joins("alice", "alice@"+testDomain+"/web")
	c.wire.awaitRequest(t, "owner grant", ownerGrant(c.room, "alice@"+testDomain)).result(nil)

	leave := xmpp.NewPresence(xmpp.PresenceUnavailable, c.occupant("alice"), testFocusAddr,
		xmpp.NewElement(xmpp.NSMUCUser, "x").Append(xmpp.NewElement(xmpp.NSMUCUser, "item", "affiliation", "owner", "role", "none")),
		xmpp.NewElement("", "status").WithText("switch_room"))
	c.deliver(leave)
	// Four times the empty timeout: a conference emptied by a leave would
	// have ended by now (the next test step proves it).
	time.Sleep(4 * empty)
	if s := c.snapshot(); !s.Joined {
		t.Fatalf("the main room's conference ended after its last participant moved to a breakout room")
	}

	c.joins("alice", "alice@"+testDomain+"/web")
	c.leaves("alice")
	awaitRecorded(c, "Ended after an ordinary last leave", func(e *Ended) bool { return e.Room == c.room })
}
