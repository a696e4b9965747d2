package directory

import (
	"fmt"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"focal/actors/conference"
	"focal/proto"
	"focal/xmpp"
	"focal/xmpp/session"
)

// A stanza read while its room's conference hands over to another node is
// kept here, not given to the conference, which may stop before it gets
// there: the session counts it all the same, and the new owner resumes
// past it (the both-ways cut under CPU load lost requests and, with the
// last one, a conference so). Once the conference has ended it follows the
// final state to the new owner, with its place in the session.
//
// The conference's stop (a system message) can reach the directory ahead
// of its Ended: the held stanza still waits for Ended, which says where
// the room went (it was answered "no conference" in the flapping
// partition so).
func TestAStanzaReadWhileItsConferenceHandsOverFollowsIt(t *testing.T) {
	for _, stopFirst := range []bool{false, true} {
		t.Run(fmt.Sprintf("stop before Ended=%v", stopFirst), func(t *testing.T) {
			stanzaHeldUntilEnded(t, "node2", stopFirst)
		})
	}
}

// stanzaHeldUntilEnded checks that a stanza read for a room whose
// conference is handing off (to a node, or let go: cutOff) waits until the
// conference's Ended and then follows it to where the room went. With
// stopFirst the conference's stop comes before the stanza and Ended.
func stanzaHeldUntilEnded(t *testing.T, handingOff string, stopFirst bool) {
	sys := quietSystem()
	toConference := make(chan *conference.Stanza, 4)
	conf := probe(sys, toConference, nil)
	defer sys.Root.Stop(conf)
	forwarded := make(chan *focalpb.ForwardedStanza, 4)
	newOwner := probe(sys, forwarded, nil)
	defer sys.Root.Stop(newOwner)

	const room, other, sm = "r@conference.example", "s@conference.example", "S"
	shardSession := &releaseCounter{}
	d := &directory{
		cfg: DefaultConfig(), self: "node1", log: slog.New(slog.DiscardHandler),
		rooms: map[string]*entry{room: {pid: conf, handingOff: handingOff}, other: {pid: conf}},
		links: map[string]*link{"shard-1.1": {
			id: "shard-1.1", session: sm, s: shardSession,
			rooms: map[string]string{room: conf.Id}, handed: map[string]*actor.PID{},
		}},
		roomLink: map[string]string{room: "shard-1.1"},
		byPID:    map[string]string{conf.Id: room},
		wire:     noAnswers{t},
	}
	dir := sys.Root.Spawn(actor.PropsFromFunc(d.Receive))
	defer sys.Root.Stop(dir)

	iq := func(r, id string) *xmpp.Element {
		return xmpp.NewElement("", "iq", "type", "set", "id", id, "from", r+"/alice")
	}
	if stopFirst {
		sys.Root.Send(dir, &actor.Terminated{Who: conf})
	}
	sys.Root.Send(dir, &conference.Stanza{Room: room, El: iq(room, "during"), At: conference.StreamPos{Session: sm, Pos: 7, Since: 3}})
	// A room not handed over gets its stanzas at once: once it has, the
	// first one would have too.
	sys.Root.Send(dir, &conference.Stanza{Room: other, El: iq(other, "other")})
	select {
	case st := <-toConference:
		if st.Room != other {
			t.Fatalf("%s reached the conference handing over", st.El)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a stanza for a room not handed over did not reach its conference")
	}

	sys.Root.RequestWithCustomSender(dir, &conference.Ended{Room: room, HandedOver: true, HandedTo: newOwner}, conf)
	select {
	case f := <-forwarded:
		el, err := xmpp.Parse([]byte(f.Xml))
		if err != nil || el.AttrValue("id") != "during" || f.Room != room || f.Session != sm || f.Position != 7 {
			t.Errorf("passed on %v, want the stanza read while handing off, at position 7 of %s", f, sm)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the stanza read while handing off was not passed on to where the room went")
	}
	select {
	case st := <-toConference:
		t.Errorf("%s reached the conference that handed off", st.El)
	default:
	}
	if shardSession.released.Load() != 1 {
		t.Errorf("the session was released %d times, want once (its only room went)", shardSession.released.Load())
	}
}

// noAnswers is a node's own wire on which nothing is to be sent.
type noAnswers struct{ t *testing.T }

func (w noAnswers) Send(el *xmpp.Element) error {
	w.t.Errorf("sent on the node's wire: %s", el)
	return nil
}
func (w noAnswers) Request(iq *xmpp.Element, _ time.Duration, cb session.ResponseFunc) {
	w.t.Errorf("asked on the node's wire: %s", iq)
	cb(nil, session.ErrNotConnected)
}

// releaseCounter is a shard session that counts its releases.
type releaseCounter struct{ released atomic.Int32 }

func (*releaseCounter) Send(*xmpp.Element) error { return nil }
func (*releaseCounter) Request(_ *xmpp.Element, _ time.Duration, cb session.ResponseFunc) {
	cb(nil, session.ErrNotConnected)
}
func (*releaseCounter) SetSuccessor(*actor.PID) {}
func (*releaseCounter) SetMayResume(bool)       {}
func (r *releaseCounter) Release()              { r.released.Add(1) }
func (*releaseCounter) Close()                  {}

// A conference let go (its node cut off) is stopping: a stanza for its room
// read meanwhile is not given to it, which would lose it though the
// session counts it (the flapping partition lost requests so), but kept
// until its Ended says where the room went, and passed on there. Its stop,
// a system message, may come ahead of Ended: the stanza still waits, and
// is not answered "no conference" (the outbound partition answered two
// requests so, which the next driver then answered again).
func TestAStanzaForARoomLetGoFollowsItsFinalState(t *testing.T) {
	for _, stopFirst := range []bool{false, true} {
		t.Run(fmt.Sprintf("stop before Ended=%v", stopFirst), func(t *testing.T) {
			stanzaHeldUntilEnded(t, cutOff, stopFirst)
		})
	}
}
