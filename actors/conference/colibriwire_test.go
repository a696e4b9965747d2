package conference

import (
	"fmt"
	"testing"

	"focal/actors/bridge"
	"focal/proto"
	"focal/xmpp"
)

// jvb1Address is jvb1's own JID, as a brewery with public JIDs shows it.
const jvb1Address = "jvb@auth.meet.example.com/jvb1-conn"

// A bridge whose own JID the brewery shows gets the conference's Colibri2
// addressed to that JID, on the room's session (the shard session, which
// only its holder can write on), and none on the node's own session. Once
// the room moves to a new session, so do its requests to the bridge.
func TestColibri2GoesToTheBridgesOwnJIDOnTheRoomsSession(t *testing.T) {
	h := newHarness(t)
	c := h.joined("room1@conference." + testDomain)
	c.joins("alice", "")
	c.ready("alice")
	c.barrier()
	c.joins("bob", "")
	c.ready("bob")

	for _, nick := range []string{"alice", "bob"} {
		h.brewery.answer(h.root, c.awaitSelect(), &bridge.Selected{Bridge: jvb1, Address: jvb1Address})
		it := c.wire.awaitRequest(t, nick+"'s allocation, to jvb1's own JID on the room's session", colibriTo(jvb1Address, createsEndpoint(nick)))
		it.result(conferenceModified(t, nick))
		c.awaitInitiate(nick)
	}
	if s := c.snapshot(); len(s.Bridges) != 1 || s.Bridges[0].JID != jvb1 {
		t.Errorf("the conference's bridges %+v, want jvb1 by its occupant JID", s.Bridges)
	}

	moved := &scriptedWire{name: "moved"}
	c.send(&Rewire{Wire: moved})
	c.leaves("bob")
	moved.awaitRequest(t, "bob's expiry on the room's new session", colibriTo(jvb1Address, func(mod *xmpp.Colibri2ConferenceModify) bool {
		ep := mod.Endpoint("bob")
		return ep != nil && ep.Expire
	}))

	c.barrier()
	for _, it := range c.bridgeWire.q.pending() {
		t.Errorf("sent on the node's own session: %s", it.el)
	}
}

// A handover's final state marks behind every member on a bridge reached
// through the shard session: the session's release drops what it has not
// written, Colibri2 included, so the next owner sends their sources again
// (a set sent again changes nothing the bridge has). Members on a bridge
// reached through the node's own session are not marked, once a barrier
// confirmed their requests.
func TestAFinalStateMarksMembersOnAShardSessionBridgeBehind(t *testing.T) {
	for _, addressed := range []bool{true, false} {
		t.Run(fmt.Sprintf("bridge address known %v", addressed), func(t *testing.T) {
			h := newHarness(t, func(c *Config) { c.Node = "node1" })
			if addressed {
				h.addresses = map[string]string{jvb1: jvb1Address}
			}
			c, r, _ := h.owned("room1@conference." + testDomain)
			r.barrier(c, "before the handover")
			c.send(&HandOver{To: c.recPID, Node: "node2"})
			final := awaitRecorded(c, "the final state", func(st *focalpb.ConferenceState) bool { return st.Final })
			if len(final.Members) != 2 {
				t.Fatalf("final state's members %v", final.Members)
			}
			for _, m := range final.Members {
				if m.BridgeBehind != addressed {
					t.Errorf("%s behind %v in the final state, want %v", m.Nick, m.BridgeBehind, addressed)
				}
			}
		})
	}
}
