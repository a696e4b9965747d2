package directory

import (
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"focal/actors/conference"
	"focal/cluster"
	"focal/proto"
	"focal/xmpp"
)

// A conference is handed over to its owner only once the owner's
// directory has answered a round trip over the actor link, which its
// final state travels on: after a partition healed, memberlist's probes
// made contact steady while that link stayed down, and the final state
// sent into it was lost with the requests it answered.
func TestHandOverWaitsForAnAnsweredRoundTripOverTheActorLink(t *testing.T) {
	sys := quietSystem()
	handOvers := make(chan *conference.HandOver, 4)
	conf := probe(sys, handOvers, nil)
	defer sys.Root.Stop(conf)

	// The owner's directory: the first check goes unanswered (the link
	// is down), the second is answered.
	var checks, answered atomic.Int32
	owner, err := sys.Root.SpawnNamed(actor.PropsFromFunc(func(ctx actor.Context) {
		if _, ok := ctx.Message().(*focalpb.ReachCheck); ok {
			if checks.Add(1) > 1 {
				answered.Add(1)
				ctx.Respond(&focalpb.ReachAck{})
			}
		}
	}), Name)
	if err != nil {
		t.Fatal(err)
	}
	defer sys.Root.Stop(owner)

	d := quietDirectory(t)
	view := []cluster.Member{{Name: "node1", NodeMeta: cluster.NodeMeta{Remote: sys.Address()}}, {Name: "node2", NodeMeta: cluster.NodeMeta{Remote: sys.Address()}}}
	room := roomOwnedBy(t, d, "node1", view)
	d.rooms[room] = &entry{pid: conf}
	dir := sys.Root.Spawn(actor.PropsFromFunc(d.Receive))
	defer sys.Root.Stop(dir)

	sys.Root.Send(dir, &Placement{Self: "node2", Members: view, Quorum: 2, Reachable: 1,
		Contacts: steadyWith("node1"), FailureTimeout: 1800 * time.Millisecond})

	select {
	case <-handOvers:
		if answered.Load() == 0 {
			t.Fatalf("handed over after %d checks of the actor link, none answered", checks.Load())
		}
	case <-time.After(5 * time.Second):
		t.Fatalf("not handed over after %d checks of the actor link (%d answered)", checks.Load(), answered.Load())
	}
}

// A conference that gives its handover up drives on: the stanzas held for
// it while it was handing over reach it, in order, and later ones go
// straight to it.
func TestAConferenceThatGaveItsHandOverUpGetsItsStanzas(t *testing.T) {
	sys := quietSystem()
	toConference := make(chan *conference.Stanza, 4)
	conf := probe(sys, toConference, nil)
	defer sys.Root.Stop(conf)

	const room = "r@conference.example"
	d := quietDirectory(t)
	d.rooms[room] = &entry{pid: conf, handingOff: "node1"}
	d.byPID[conf.Id] = room
	dir := sys.Root.Spawn(actor.PropsFromFunc(d.Receive))
	defer sys.Root.Stop(dir)

	iq := func(id string) *conference.Stanza {
		return &conference.Stanza{Room: room, El: xmpp.NewElement("", "iq", "type", "set", "id", id, "from", room+"/alice")}
	}
	sys.Root.Send(dir, iq("held1"))
	sys.Root.Send(dir, iq("held2"))
	sys.Root.RequestWithCustomSender(dir, &conference.HandOverAborted{Room: room, Node: "node1"}, conf)
	sys.Root.Send(dir, iq("after"))
	for _, want := range []string{"held1", "held2", "after"} {
		awaitStanzaID(t, toConference, want)
	}
}

// A handover's final state is acknowledged even when the receiver drops
// it (it drives the conference itself, say): the sender sends it until it
// is, and gives the handover up otherwise.
func TestAFinalStateIsAcknowledgedEvenWhenDropped(t *testing.T) {
	sys := quietSystem()
	conf := probe(sys, make(chan any, 1), nil)
	defer sys.Root.Stop(conf)

	const room = "r@conference.example"
	d := quietDirectory(t)
	d.rooms[room] = &entry{pid: conf} // driven here
	dir := sys.Root.Spawn(actor.PropsFromFunc(d.Receive))
	defer sys.Root.Stop(dir)

	res, err := sys.Root.RequestFuture(dir, &focalpb.ConferenceState{Room: room, Owner: "node2", Version: 7, Final: true}, 5*time.Second).Result()
	if ack, ok := res.(*focalpb.StateAck); err != nil || !ok || ack.Version != 7 {
		t.Fatalf("answered %v (%v), want the acknowledgement of version 7", res, err)
	}
}

// quietDirectory is a directory with the default configuration that logs
// nothing and must send nothing on the node's own wire.
func quietDirectory(t *testing.T) *directory {
	cfg := DefaultConfig()
	cfg.Conference.Logger = slog.New(slog.DiscardHandler)
	return newDirectory(cfg, noAnswers{t})
}

// steadyWith reads contacts in which this node has answered probes from
// each of names, without a gap, for a minute until now.
func steadyWith(names ...string) func() map[string]cluster.Contact {
	return func() map[string]cluster.Contact {
		now := time.Now()
		out := make(map[string]cluster.Contact, len(names))
		for _, n := range names {
			out[n] = cluster.Contact{Last: now, Since: now.Add(-time.Minute), Heard: now}
		}
		return out
	}
}
