package session_test

import (
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"focal/internal/prosodytest"
	"focal/xmpp"
	"focal/xmpp/session"
)

// receivedInOrder reads ch until every id has come, and fails if they came
// in another order or if any of unwanted came first.
func receivedInOrder(t *testing.T, ch <-chan *xmpp.Element, unwanted []string, ids ...string) {
	t.Helper()
	deadline := time.After(waitLimit)
	for next := 0; next < len(ids); {
		select {
		case el := <-ch:
			id := el.AttrValue("id")
			for _, u := range unwanted {
				if id == u {
					t.Fatalf("stanza %s arrived, waiting for %v", id, ids[next:])
				}
			}
			for i, want := range ids {
				if id == want && i != next {
					t.Fatalf("stanza %s arrived before %s", id, ids[next])
				}
			}
			if id == ids[next] {
				next++
			}
		case <-deadline:
			t.Fatalf("timed out waiting for %v", ids[next:])
		}
	}
}

// startHolder starts a Prosody, a component, and alice's session A with
// stream management (and holdLimit, if set), and returns once the
// session is resumable: the component, its address, A, and A's state.
func startHolder(t *testing.T, holdLimit time.Duration) (comp *peer, compAddr string, a *peer, st session.SMState) {
	t.Helper()
	srv := prosodytest.Start(t, prosodytest.Options{})
	register(t, srv, "alice")
	comp = startPeer(t, "component", componentDialer(srv))
	compAddr = comp.waitUp(t)
	rec := newSMRecorder()
	sm := rec.config(session.SMState{})
	sm.HoldLimit = holdLimit
	a = startPeerWith(t, "A", userDialer(srv, srv.C2SAddr, "alice", "node-a"),
		func(c *session.Config) { c.StreamManagement = sm })
	a.waitUp(t)
	st = rec.awaitState(t, "enabled", func(st session.SMState) bool { return st.ID != "" })
	return comp, compAddr, a, st
}

// A held stanza is counted where it was queued, written only once let go,
// and holds back what was queued after it, whose place depends on it.
func TestAHeldStanzaWaitsForLetAndKeepsItsPlace(t *testing.T) {
	comp, compAddr, a, st := startHolder(t, 0)
	_, before, _ := a.s.SMCounters()

	held, err := a.s.SendHeld(headline(compAddr, "held"))
	if err != nil {
		t.Fatal(err)
	}
	if held.Session != st.ID || held.Pos != before+1 {
		t.Fatalf("held at %+v, want session %s place %d", held, st.ID, before+1)
	}
	if err := a.s.Send(headline(compAddr, "behind")); err != nil {
		t.Fatal(err)
	}
	if err := a.s.Flush(boundedCtx(t)); !errors.Is(err, session.ErrHeld) {
		t.Fatalf("Flush behind a held stanza: %v, want ErrHeld", err)
	}
	if _, written, _ := a.s.SMCounters(); written != before {
		t.Fatalf("%d stanzas written while the first was held", written-before)
	}

	a.s.Let(session.Mark{Session: "another", Pos: held.Pos}) // not this session's: ignored
	a.s.Let(held)
	receivedInOrder(t, comp.stanzas, nil, "held", "behind")
	eventually(t, "the server to acknowledge the held stanza", func() bool { return a.s.Received(held) })
	if err := a.s.Flush(boundedCtx(t)); err != nil {
		t.Fatalf("Flush with nothing held: %v", err)
	}
}

// The process that resumes a session knows, from the server's count, which
// of the held stanzas of the process before it reached the server: the
// one let go did, the one still held did not.
func TestTheResumerKnowsWhichHeldStanzasReachedTheServer(t *testing.T) {
	srv := prosodytest.Start(t, prosodytest.Options{})
	register(t, srv, "alice")
	comp := startPeer(t, "component", componentDialer(srv))
	compAddr := comp.waitUp(t)

	px := startProxy(t, srv.C2SAddr)
	recA := newSMRecorder()
	var dead atomic.Bool
	smA := recA.config(session.SMState{})
	smA.MayResume = func(session.SMState) bool { return !dead.Load() }
	a := startPeerWith(t, "A", userDialer(srv, px.Addr(), "alice", "node-a"),
		func(c *session.Config) { c.StreamManagement = smA })
	a.waitUp(t)
	recA.awaitState(t, "enabled", func(st session.SMState) bool { return st.ID != "" })
	if took := a.s.TookOver(); took != (session.Mark{}) {
		t.Fatalf("a new session took %+v over", took)
	}

	sent, err := a.s.SendHeld(headline(compAddr, "sent"))
	if err != nil {
		t.Fatal(err)
	}
	a.s.Let(sent)
	receivedInOrder(t, comp.stanzas, nil, "sent")
	never, err := a.s.SendHeld(headline(compAddr, "never"))
	if err != nil {
		t.Fatal(err)
	}

	dead.Store(true)
	px.cut()
	await(t, a.s.Done(), "A's Run to return")

	st := recA.lastState()
	recB := newSMRecorder()
	b := startPeerWith(t, "B", userDialer(srv, srv.C2SAddr, "alice", "node-a"),
		func(c *session.Config) { c.StreamManagement = recB.config(st) })
	b.waitUp(t)
	took := b.s.TookOver()
	if took.Session != sent.Session || took.Pos < sent.Pos || took.Pos >= never.Pos {
		t.Fatalf("B took %+v over; want session %s with a count from %d to below %d", took, sent.Session, sent.Pos, never.Pos)
	}
	// What B sends comes next in the count, and nothing of A's came first.
	next, err := b.s.SendHeld(headline(compAddr, "from-b"))
	if err != nil {
		t.Fatal(err)
	}
	if next.Pos != took.Pos+1 {
		t.Fatalf("B's first stanza at %d, want %d", next.Pos, took.Pos+1)
	}
	b.s.Let(next)
	receivedInOrder(t, comp.stanzas, []string{"never"}, "from-b")
}

// A held stanza nobody lets go is written after the hold limit: the
// session must not stop for a holder that is stuck.
func TestAHeldStanzaNobodyLetsGoIsWrittenAfterTheLimit(t *testing.T) {
	comp, compAddr, a, _ := startHolder(t, 100*time.Millisecond)
	held, err := a.s.SendHeld(headline(compAddr, "stuck"))
	if err != nil || held.Pos == 0 {
		t.Fatalf("SendHeld: %+v, %v", held, err)
	}
	receivedInOrder(t, comp.stanzas, nil, "stuck")
}
