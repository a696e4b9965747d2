package conference

import (
	"fmt"
	"testing"

	"focal/actors/bridge"
	"focal/proto"
)

// spreadingBrewery answers as a brewery spreading load would: a conference
// without a bridge gets the next of jvb1, jvb2 in turn; one that has a
// bridge stays on its first (the single strategy).
type spreadingBrewery struct{ next int }

func (b *spreadingBrewery) choose(sel *bridge.Select) string {
	if len(sel.Bridges) > 0 {
		return sel.Bridges[0].JID
	}
	jid := []string{jvb1, jvb2}[b.next%2]
	b.next++
	return jid
}

// Eight participants of each of two conferences become ready at once (in
// one conference after the focus joined, in the other before), and the
// brewery spreads conferences without a bridge over two bridges and holds
// its answers, giving them in a different order each round. Each conference
// has at most one Select in flight, each Select carries every earlier
// answer, and each conference ends up with all its participants on ONE
// bridge: a second Select in flight would see no bridge yet and be sent
// to the other one.
func TestOneSelectionInFlightPerConferenceKeepsItOnOneBridge(t *testing.T) {
	const n = 8
	h := newHarness(t)
	nicks := make([]string, n)
	for i := range nicks {
		nicks[i] = fmt.Sprintf("p%d", i+1)
	}

	// a: the focus is in the room when the participants come.
	a := h.joined("room-a@conference." + testDomain)
	for _, nick := range nicks {
		a.joins(nick, nick+"@"+testDomain+"/web")
	}
	for _, nick := range nicks {
		a.ready(nick)
	}
	// b: the occupant list comes before the focus's own presence, as a
	// MUC sends it; the participants are ready before the focus is in.
	b := h.start("room-b@conference." + testDomain)
	b.request()
	for _, nick := range nicks {
		b.joins(nick, nick+"@"+testDomain+"/web")
	}
	for _, nick := range nicks {
		b.ready(nick)
	}
	b.barrier()
	h.syncBrewery()
	for _, r := range h.brewery.q.pending() {
		if r.sel.Room == b.room {
			t.Fatalf("Select before the focus is in the room: %v", r)
		}
	}
	b.selfPresence()
	awaitRecorded[*focalpb.ConferenceResponse](b, "the answer to b's request", func(r *focalpb.ConferenceResponse) bool { return r.Ready })
	b.roomInfo("")

	confs := []*tconf{a, b}
	brewery := &spreadingBrewery{}
	first := map[string]string{} // room → the bridge of its first answer
	answered := map[string]int{} // room → Selects answered
	for round := 0; answered[a.room] < n || answered[b.room] < n; round++ {
		var held []*selectReq
		for _, c := range confs {
			if answered[c.room] < n {
				held = append(held, c.awaitSelect())
			}
		}
		// With its Select held, neither conference asks again.
		for _, c := range confs {
			c.barrier()
		}
		h.syncBrewery()
		if extra := h.brewery.q.pending(); len(extra) != 0 {
			t.Fatalf("round %d: a second Select while one is in flight: %v", round, extra)
		}
		if round%2 == 1 {
			held[0], held[len(held)-1] = held[len(held)-1], held[0]
		}
		for _, r := range held {
			room, k := r.sel.Room, answered[r.sel.Room]
			if k == 0 {
				if len(r.sel.Bridges) != 0 {
					t.Fatalf("%s: first Select with bridges %v", room, r)
				}
			} else if len(r.sel.Bridges) != 1 || r.sel.Bridges[0].JID != first[room] ||
				r.sel.Bridges[0].Participants != k || len(r.sel.Bridges[0].Added) != k {
				t.Fatalf("%s: Select %d is %v (added %d), want [%s(%d)] carrying every earlier answer",
					room, k+1, r, len(r.sel.Bridges[0].Added), first[room], k)
			}
			jid := brewery.choose(r.sel)
			if k == 0 {
				first[room] = jid
			}
			h.brewery.answer(h.root, r, &bridge.Selected{Bridge: jid})
			answered[room]++
		}
	}
	if first[a.room] == first[b.room] {
		t.Fatalf("both conferences on %s: the brewery did not spread them, the test proves nothing", first[a.room])
	}

	for _, c := range confs {
		if most := h.brewery.mostOutstanding(c.room); most != 1 {
			t.Errorf("%s: %d Selects outstanding at once", c.room, most)
		}
		jid := first[c.room]
		creates := 0
		for _, nick := range nicks {
			if mod := c.allocate(nick, jid); mod.Create {
				creates++
				if mod.Name != c.room {
					t.Errorf("%s: conference created as %q", c.room, mod.Name)
				}
			}
			c.awaitInitiate(nick)
		}
		if creates != 1 {
			t.Errorf("%s: %d conference-modify requests create the conference, want 1", c.room, creates)
		}
		c.barrier()
		for _, it := range c.bridgeWire.q.pending() {
			t.Errorf("%s: unexpected request on the bridge wire: %s", c.room, it)
		}
		s := c.snapshot()
		if len(s.Bridges) != 1 || s.Bridges[0].JID != jid || s.Bridges[0].Endpoints != n {
			t.Errorf("%s: snapshot bridges %+v, want %d endpoints on %s", c.room, s.Bridges, n, jid)
		}
		for _, nick := range nicks {
			if m, ok := s.member(nick); !ok || m.Bridge != jid || m.JingleState != "pending" || m.JingleSID == "" {
				t.Errorf("%s: %s in the snapshot: %+v", c.room, nick, m)
			}
		}
	}
	h.syncBrewery()
	if extra := h.brewery.q.pending(); len(extra) != 0 {
		t.Errorf("Selects after everybody was placed: %v", extra)
	}
}

// An answer for a participant who left while its Select was in flight
// places nobody: the next Select is for the next participant, and (the
// conference still having no bridge) carries no bridge.
func TestSelectAnsweredAfterItsParticipantLeftPlacesNobody(t *testing.T) {
	h := newHarness(t)
	c := h.joined("room1@conference." + testDomain)
	for _, nick := range []string{"alice", "bob", "carol"} {
		c.joins(nick, "")
	}
	c.ready("alice")
	r := c.awaitSelect() // alice's: she is the only one ready
	c.ready("bob")
	c.ready("carol")
	c.leaves("alice")
	c.barrier()
	h.brewery.answer(h.root, r, &bridge.Selected{Bridge: jvb1})
	next := c.awaitSelect()
	if len(next.sel.Bridges) != 0 {
		t.Fatalf("Select after the answer for a leaver: %v, want no bridges", next)
	}
	h.brewery.answer(h.root, next, &bridge.Selected{Bridge: jvb2})
	c.allocate("bob", jvb2)
	c.answerSelect(jvb2)
	c.allocate("carol", jvb2)
	c.barrier()
	for _, it := range c.bridgeWire.q.pending() {
		t.Errorf("unexpected request on the bridge wire: %s", it)
	}
	if s := c.snapshot(); len(s.Bridges) != 1 || s.Bridges[0].JID != jvb2 || s.Bridges[0].Endpoints != 2 {
		t.Errorf("snapshot bridges %+v, want bob and carol on jvb2", s.Bridges)
	}
}

// When the brewery has no bridge, nobody is placed and nothing more is
// asked until a bridge comes up or a new participant is ready; then
// selection resumes.
func TestNoBridgeWaitsForABridgeToComeUp(t *testing.T) {
	h := newHarness(t)
	c := h.joined("room1@conference." + testDomain)
	c.joins("alice", "")
	c.joins("bob", "")
	c.ready("alice")
	c.ready("bob")
	c.barrier() // both are ready: neither's readiness retries after the answer
	r := c.awaitSelect()
	h.brewery.answer(h.root, r, &bridge.Selected{Err: fmt.Errorf("no bridge")})
	c.barrier()
	h.syncBrewery()
	if extra := h.brewery.q.pending(); len(extra) != 0 {
		t.Fatalf("Selects while no bridge is up: %v", extra)
	}
	// A new participant tries again (for the first in join order).
	c.joins("carol", "")
	c.ready("carol")
	r = c.awaitSelect()
	h.brewery.answer(h.root, r, &bridge.Selected{Err: fmt.Errorf("no bridge")})
	c.barrier()
	h.syncBrewery()
	if extra := h.brewery.q.pending(); len(extra) != 0 {
		t.Fatalf("Selects while no bridge is up: %v", extra)
	}
	if s := c.snapshot(); len(s.Bridges) != 0 {
		t.Fatalf("bridges %+v without an answer naming one", s.Bridges)
	}
	c.send(&bridge.Up{Bridge: jvb3})
	c.answerSelect(jvb3)
	c.allocate("alice", jvb3)
	c.awaitInitiate("alice")
	if s := c.snapshot(); len(s.Bridges) != 1 || s.Bridges[0].JID != jvb3 {
		t.Errorf("snapshot bridges %+v, want jvb3", s.Bridges)
	}
}
