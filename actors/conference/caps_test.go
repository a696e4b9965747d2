package conference

import (
	"testing"

	"focal/actors/participant"
	"focal/xmpp"
	"focal/xmpp/caps"
)

// discoAnswer is a web client's disco#info answer with features.
func discoAnswer(features []string) *xmpp.Element {
	q := xmpp.NewElement(participant.NSDiscoInfo, "query")
	q.Append(xmpp.NewElement(participant.NSDiscoInfo, "identity", "category", "client", "type", "web", "name", "test"))
	for _, f := range features {
		q.Append(xmpp.NewElement(participant.NSDiscoInfo, "feature", "var", f))
	}
	return q
}

// joinsAnnouncing makes nick an occupant whose presence announces ver
// (XEP-0115, SHA-1), as lib-jitsi-meet's does.
func (c *tconf) joinsAnnouncing(nick, ver string) {
	x := xmpp.NewElement(xmpp.NSMUCUser, "x").Append(xmpp.NewElement(xmpp.NSMUCUser, "item",
		"affiliation", xmpp.AffiliationNone, "role", xmpp.RoleParticipant, "jid", nick+"@"+testDomain+"/web"))
	cel := xmpp.NewElement(caps.NS, "c", "hash", "sha-1", "node", "https://jitsi.org/jitsi-meet", "ver", ver)
	c.send(&Stanza{Room: c.room, El: xmpp.NewPresence("", c.occupant(nick), testFocusAddr, x, cel)})
}

// A participant whose presence announces capabilities that an earlier
// participant's disco#info answer proved is not asked for its features,
// and is invited all the same; one announcing a ver no answer proved is
// asked, and its answer, which does not hash to that ver, teaches nothing.
func TestProvedCapsSaveTheNextParticipantsDiscoInfo(t *testing.T) {
	h := newHarness(t)
	c := h.joined("room1@conference." + testDomain)
	answer := discoAnswer(defaultFeatures)
	ver, err := caps.Ver(answer)
	if err != nil {
		t.Fatal(err)
	}

	c.joinsAnnouncing("alice", ver)
	c.wire.awaitRequest(t, "owner grant", ownerGrant(c.room, "alice@"+testDomain)).result(nil)
	c.presence("alice", "", "alice@"+testDomain+"/web", xmpp.AffiliationOwner, xmpp.RoleModerator)
	c.wire.awaitRequest(t, "disco#info to alice", discoTo(c.occupant("alice"))).result(answer)
	c.barrier()

	c.joinsAnnouncing("bob", ver)
	c.barrier()
	const forged = "Zm9yZ2VkIHZlciBub2JvZHkgcHJvdmVk"
	c.joinsAnnouncing("carol", forged)
	c.wire.awaitRequest(t, "disco#info to carol", discoTo(c.occupant("carol"))).result(discoAnswer(defaultFeatures[:3]))
	c.barrier()
	for _, it := range c.wire.q.pending() {
		if discoTo(c.occupant("bob"))(it.el) {
			t.Fatalf("bob announced proved caps and was asked for his features: %s", it)
		}
	}
	if _, ok := h.cfg.Caps.Features(caps.Caps{Hash: "sha-1", Ver: forged}); ok {
		t.Error("an answer that does not hash to the announced ver was cached under it")
	}

	for i, nick := range []string{"alice", "bob", "carol"} {
		c.answerSelect(jvb1)
		if i == 0 {
			c.awaitBridgeCount(1)
		}
		c.allocate(nick, jvb1)
		c.awaitInitiate(nick)
	}
}
