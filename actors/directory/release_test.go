package directory

import (
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"focal/actors/conference"
	"focal/cluster"
	"focal/proto"
	"focal/xmpp"
	"focal/xmpp/session"
)

// A released session goes to the node its rooms were handed to, even if
// the view changed meanwhile and another member now owns the shard: the
// conferences' final states went there, and a session sent elsewhere was
// never resumed (the outbound partition test lost a conference so).
func TestAReleasedSessionGoesWhereItsRoomsWent(t *testing.T) {
	sys := quietSystem()
	got := make(chan *focalpb.ShardSession, 4)
	roomsWent := probe(sys, got, &focalpb.StateAck{})
	defer sys.Root.Stop(roomsWent)

	var all []cluster.Member
	for i, name := range []string{"node1", "node2", "node3"} {
		all = append(all, cluster.Member{Name: name, NodeMeta: cluster.NodeMeta{Remote: fmt.Sprintf("127.0.0.1:%d", i+1)}})
	}
	// A shard node3 does not own now (node3 handed its room over before).
	shard := -1
	for s := range cluster.DefaultShards {
		if cluster.Ranked(cluster.ShardKey(s), all)[0].Name != "node3" {
			shard = s
			break
		}
	}
	cfg := DefaultConfig()
	d := &directory{
		cfg: cfg, self: "node3", clustered: true, members: all, log: slog.New(slog.DiscardHandler),
		links:    map[string]*link{"shard.1": {id: "shard.1", shard: shard, handed: map[string]*actor.PID{"r@c": roomsWent}}},
		roomLink: map[string]string{"r@c": "shard.1"},
		smStates: map[string]*focalpb.ShardSession{}, highH: map[string]uint32{},
	}
	released := &SessionReleased{ID: "shard.1", State: session.SMState{ID: "S", InboundH: 42, Max: time.Minute}}
	dir := sys.Root.Spawn(actor.PropsFromFunc(func(ctx actor.Context) {
		if msg, ok := ctx.Message().(*SessionReleased); ok {
			d.onSessionReleased(ctx, msg)
		}
	}))
	defer sys.Root.Stop(dir)
	sys.Root.Send(dir, released)
	select {
	case st := <-got:
		if st.Id != "S" || st.H != 42 || !st.Final {
			t.Errorf("final state %v", st)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the session's final state did not go where the room went")
	}
}

// A stanza the session's stream read before the release, which reaches
// the directory only after it (through the ingress), is passed on to where
// its room went: the release's h counts it, so the server will not send
// it to the node that resumes the session (the both-ways cut under CPU
// load lost requests so, answered "no conference" into a cut session).
func TestAStanzaReadBeforeTheReleaseFollowsItsRoom(t *testing.T) {
	sys := quietSystem()
	finals := make(chan *focalpb.ShardSession, 4)
	forwards := make(chan *focalpb.ForwardedStanza, 4)
	roomsWent := sys.Root.Spawn(actor.PropsFromFunc(func(ctx actor.Context) {
		switch msg := ctx.Message().(type) {
		case *focalpb.ShardSession:
			finals <- msg
			ctx.Respond(&focalpb.StateAck{})
		case *focalpb.ForwardedStanza:
			forwards <- msg
		}
	}))
	defer sys.Root.Stop(roomsWent)

	cfg := DefaultConfig()
	d := &directory{
		cfg: cfg, self: "node2", log: slog.New(slog.DiscardHandler),
		rooms:    map[string]*entry{},
		links:    map[string]*link{"shard.1": {id: "shard.1", session: "S", handed: map[string]*actor.PID{"r@c": roomsWent}}},
		roomLink: map[string]string{"r@c": "shard.1"},
		smStates: map[string]*focalpb.ShardSession{}, highH: map[string]uint32{},
	}
	dir := sys.Root.Spawn(actor.PropsFromFunc(d.Receive))
	defer sys.Root.Stop(dir)
	sys.Root.Send(dir, &SessionReleased{ID: "shard.1", State: session.SMState{ID: "S", InboundH: 42, Max: time.Minute}})
	select {
	case <-finals:
	case <-time.After(5 * time.Second):
		t.Fatal("the session's final state did not go where the room went")
	}
	wire := &recordingWire{}
	iq := xmpp.NewElement("", "iq", "type", "set", "id", "late", "from", "r@c/alice")
	sys.Root.Send(dir, &conference.Stanza{Room: "r@c", El: iq, Via: wire, At: conference.StreamPos{Session: "S", Pos: 42, Since: 20}})
	select {
	case f := <-forwards:
		if f.Room != "r@c" || f.Session != "S" || f.Position != 42 {
			t.Errorf("passed on %v, want position 42 of S for r@c", f)
		}
	case <-time.After(5 * time.Second):
		t.Fatalf("the stanza read before the release was not passed on (%d stanzas answered instead)", wire.count())
	}
	if n := wire.count(); n != 0 {
		t.Errorf("the stanza passed on was also answered (%d stanzas)", n)
	}
}
