package directory

import (
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"focal/actors/conference"
	"focal/proto"
	"focal/xmpp"
)

// A forwarded stanza reaches the conference only if the server did not send
// it to this node itself: the both-ways partition test had a cut-off node's
// forwards wait in the link until the heal, reach the node that had taken
// the session over from a lower h (and got the same requests from the
// server), and answer them twice.
func TestAForwardTheServerSentHereTooIsDropped(t *testing.T) {
	sys := quietSystem()
	got := make(chan *conference.Stanza, 64)
	conf := probe(sys, got, nil)
	defer sys.Root.Stop(conf)
	const room, session = "r@conference.example", "S"
	d := &directory{
		cfg: DefaultConfig(), self: "node2", log: slog.New(slog.DiscardHandler),
		rooms: map[string]*entry{room: {pid: conf}},
		links: map[string]*link{},
	}
	dir := sys.Root.Spawn(actor.PropsFromFunc(d.Receive))
	defer sys.Root.Stop(dir)

	stanza := func(n uint32) *xmpp.Element {
		return xmpp.NewElement("", "iq", "type", "set", "id", "q"+string(rune('a'+n%26)), "from", room+"/alice")
	}
	receive := func(what string) *conference.Stanza {
		t.Helper()
		select {
		case st := <-got:
			return st
		case <-time.After(5 * time.Second):
			t.Fatalf("%s did not reach the conference", what)
			return nil
		}
	}
	// The server sent this node positions 21–28, to a stream that resumed
	// the session at h=20; then the stream went (the session was released).
	for pos := uint32(21); pos <= 28; pos++ {
		sys.Root.Send(dir, &conference.Stanza{Room: room, El: stanza(pos), At: conference.StreamPos{Session: session, Pos: pos, Since: 20}})
		receive("a stanza from the server")
	}
	forward := func(pos uint32) {
		sys.Root.Send(dir, &focalpb.ForwardedStanza{Room: room, Xml: stanza(pos).String(), Session: session, Position: pos})
	}
	// marker is a forward from no session, which always goes through: what
	// arrives before it was delivered, what does not was dropped.
	marker := func() {
		t.Helper()
		sys.Root.Send(dir, &focalpb.ForwardedStanza{Room: room, Xml: xmpp.NewElement("", "presence", "from", room+"/marker").String()})
		if st := receive("the marker"); st.El.Name.Local != "presence" {
			t.Fatalf("%s reached the conference, a copy of what the server sent here", st.El)
		}
	}
	for _, c := range []struct {
		pos     uint32
		held    bool   // a stream here holds the session now
		since   uint32 // the h that stream resumed from
		through bool
	}{
		{pos: 21, through: false}, // sent here
		{pos: 28, through: false},
		{pos: 20, through: true},                         // below where the stream began: the server will not send it again
		{pos: 29, through: true},                         // after the stream went: another node's
		{pos: 29, held: true, since: 20, through: false}, // the stream holding the session gets it
		{pos: 20, held: true, since: 20, through: true},
		// A stream opened to resume from h=40, before it read anything:
		// the server sends it 41 on, not 35, which only the copy carries.
		{pos: 35, held: true, since: 40, through: true},
		{pos: 41, held: true, since: 40, through: false},
	} {
		d.links = map[string]*link{}
		if c.held {
			d.links["shard-1.1"] = &link{id: "shard-1.1", session: session, since: c.since}
		}
		forward(c.pos)
		if c.through {
			if st := receive("a forward"); st.El.Name.Local != "iq" {
				t.Fatalf("position %d (held from %d: %v): got %s, want the forward", c.pos, c.since, c.held, st.El)
			}
		}
		marker()
	}
	// Another stream of the same session, later, from h=86: what the first
	// one got is still known as sent here.
	sys.Root.Send(dir, &conference.Stanza{Room: room, El: stanza(87), At: conference.StreamPos{Session: session, Pos: 87, Since: 86}})
	receive("a stanza from the server")
	d.links = map[string]*link{}
	forward(25)
	marker()
	forward(60)
	if st := receive("a forward of a position another node got"); st.El.Name.Local != "iq" {
		t.Fatalf("got %s", st.El)
	}
}

// A stanza for a room let go with nobody to pass it to (the node is cut
// off) is kept back, not answered "no conference": the session's barriers
// go unanswered from then on, so the h its successor resumes from stays
// below the stanza and the server sends it again to the next driver.
func TestAStanzaForARoomLetGoHoldsItsSessionsBarrier(t *testing.T) {
	sys := quietSystem()
	const room, other, session = "r@conference.example", "s@conference.example", "S"
	d := &directory{
		cfg: DefaultConfig(), self: "node1", log: slog.New(slog.DiscardHandler),
		rooms: map[string]*entry{},
		links: map[string]*link{"shard-1.1": {
			id: "shard-1.1", session: session, rooms: map[string]string{},
			handed: map[string]*actor.PID{room: nil},
		}},
		roomLink: map[string]string{room: "shard-1.1", other: "shard-1.1"},
	}
	dir := sys.Root.Spawn(actor.PropsFromFunc(d.Receive))
	defer sys.Root.Stop(dir)
	answered := func() bool {
		t.Helper()
		_, err := sys.Root.RequestFuture(dir, &conference.Barrier{Session: "shard-1.1"}, 300*time.Millisecond).Result()
		return err == nil
	}
	if !answered() {
		t.Fatal("the barrier went unanswered before anything was kept back")
	}
	wire := &recordingWire{}
	iq := xmpp.NewElement("", "iq", "type", "set", "id", "q1", "from", room+"/alice")
	sys.Root.Send(dir, &conference.Stanza{Room: room, El: iq, Via: wire, At: conference.StreamPos{Session: session, Pos: 7, Since: 0}})
	if answered() {
		t.Fatal("the barrier was answered after a stanza for a room let go was read")
	}
	if n := wire.count(); n != 0 {
		t.Fatalf("the kept-back stanza was answered (%d stanzas sent)", n)
	}
}

// recordingWire counts what is sent on it.
type recordingWire struct {
	mu   sync.Mutex
	sent []*xmpp.Element
}

func (w *recordingWire) Send(el *xmpp.Element) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.sent = append(w.sent, el)
	return nil
}

func (w *recordingWire) count() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.sent)
}

// The other way round: a forward taken first (a standby buffers it), then
// the same stanza from the server once this node resumed the session from
// an h below it. The server's is dropped: a node of the inbound cut passed
// on the requests it read on letting go, and released the session with
// its successor's h, and the successor answered them twice.
func TestTheServerSendingAForwardTakenHereAgainIsDropped(t *testing.T) {
	sys := quietSystem()
	got := make(chan *conference.Stanza, 8)
	conf := probe(sys, got, nil)
	defer sys.Root.Stop(conf)
	const room, session = "r@conference.example", "S"
	d := &directory{
		cfg: DefaultConfig(), self: "node3", log: slog.New(slog.DiscardHandler),
		rooms: map[string]*entry{room: {pid: conf, standby: true}},
		links: map[string]*link{},
	}
	dir := sys.Root.Spawn(actor.PropsFromFunc(d.Receive))
	defer sys.Root.Stop(dir)

	iq := func(id string) *xmpp.Element {
		return xmpp.NewElement("", "iq", "type", "set", "id", id, "from", room+"/alice")
	}
	sys.Root.Send(dir, &focalpb.ForwardedStanza{Room: room, Xml: iq("twenty").String(), Session: session, Position: 20})
	awaitStanzaID(t, got, "twenty")
	// Resumed from h=19: the server sends 20 again, then 21.
	sys.Root.Send(dir, &conference.Stanza{Room: room, El: iq("twenty"), At: conference.StreamPos{Session: session, Pos: 20, Since: 19}})
	sys.Root.Send(dir, &conference.Stanza{Room: room, El: iq("twenty-one"), At: conference.StreamPos{Session: session, Pos: 21, Since: 19}})
	awaitStanzaID(t, got, "twenty-one")
}
