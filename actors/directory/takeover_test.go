package directory

import (
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"focal/cluster"
	"focal/proto"
	"focal/xmpp"
	"focal/xmpp/session"
)

// stubDirectory is a directory with the state takeOver reads, whose
// session opener fails the test: nothing may be resumed.
func stubDirectory(t *testing.T) *directory {
	cfg := DefaultConfig()
	cfg.Conference.Logger = slog.New(slog.DiscardHandler)
	cfg.Sessions = func(id string, shard int, resume session.SMState) ShardSession {
		t.Fatalf("session %s opened to resume %q with h=%d", id, resume.ID, resume.InboundH)
		return nil
	}
	return &directory{
		cfg: cfg, self: "node2", log: cfg.Conference.Logger,
		rooms:    map[string]*entry{"r@c": {standby: true, owner: "node1", session: "S"}},
		links:    map[string]*link{},
		smStates: map[string]*focalpb.ShardSession{"S": {Id: "S", H: 20, Owner: "node1", Final: true}},
		highH:    map[string]uint32{},
		asking:   map[string][]string{},
	}
}

// A node that is handing a session on does not take over a room of that
// session with a state it kept from before: the next holder resumes with
// the state the release ends on, and resuming with an older h would end
// the session at the server (Prosody: "Client acknowledged less stanzas
// than already acknowledged"), which the both-ways partition test showed.
func TestNoTakeoverOfASessionBeingReleased(t *testing.T) {
	d := stubDirectory(t)
	d.links["shard-1.3"] = &link{id: "shard-1.3", session: "S", releasing: true}
	d.takeOver(nil, "r@c")
	if len(d.links) != 1 {
		t.Errorf("links %v, want only the one being released", d.links)
	}
}

// A kept state older than what this node has seen of the session is
// dropped, not resumed with.
func TestNoTakeoverWithAStaleSessionState(t *testing.T) {
	d := stubDirectory(t)
	d.highH["S"] = 146
	d.takeOver(nil, "r@c")
	if _, kept := d.smStates["S"]; kept || len(d.links) != 0 {
		t.Errorf("after a stale state: states %v, links %v", d.smStates, d.links)
	}
}

// quietSession is a shard session that sends nothing anywhere.
type quietSession struct{}

func (quietSession) Send(*xmpp.Element) error                                   { return nil }
func (quietSession) Request(*xmpp.Element, time.Duration, session.ResponseFunc) {}
func (quietSession) SetSuccessor(*actor.PID)                                    {}
func (quietSession) SetMayResume(bool)                                          {}
func (quietSession) Release()                                                   {}
func (quietSession) Close()                                                     {}

// standbyOfNode1 starts node2's directory, in a view of node2 and node3
// (both at sys's address), standing by for a room it owns, driven by
// node1 (gone from the view, its directory unreachable) on session S, of
// which it holds a state at h=20. resumed gets each session it opens.
func standbyOfNode1(t *testing.T, sys *actor.ActorSystem, promoteDelay time.Duration) (*actor.PID, []cluster.Member, <-chan session.SMState) {
	t.Helper()
	conf := probe(sys, make(chan any, 16), nil)
	t.Cleanup(func() { sys.Root.Stop(conf) })
	cfg := DefaultConfig()
	cfg.Conference.Logger = slog.New(slog.DiscardHandler)
	cfg.PromoteDelay = promoteDelay
	resumed := make(chan session.SMState, 1)
	cfg.Sessions = func(id string, shard int, resume session.SMState) ShardSession {
		resumed <- resume
		return quietSession{}
	}
	d := newDirectory(cfg, noAnswers{t})
	view := []cluster.Member{{Name: "node2", NodeMeta: cluster.NodeMeta{Remote: sys.Address()}}, {Name: "node3", NodeMeta: cluster.NodeMeta{Remote: sys.Address()}}}
	room := roomOwnedBy(t, d, "node2", view)
	d.rooms[room] = &entry{pid: conf, standby: true, owner: "node1", session: "S"}
	d.byPID[conf.Id] = room
	d.known["node1"] = cluster.Member{Name: "node1", NodeMeta: cluster.NodeMeta{Remote: "127.0.0.1:1"}}
	d.smStates["S"] = &focalpb.ShardSession{Id: "S", H: 20, Owner: "node1"}
	dir := sys.Root.Spawn(actor.PropsFromFunc(d.Receive))
	t.Cleanup(func() { sys.Root.Stop(dir) })
	return dir, view, resumed
}

// A standby whose driver's process is proven gone (cluster/liveness.go)
// is promoted at once: its session is resumed without waiting for the
// promotion delay (an hour here) and without asking the gone holder
// whether it still holds the session.
func TestAStandbyWhoseDriverExitedIsPromotedAtOnce(t *testing.T) {
	sys := quietSystem()
	dir, view, resumed := standbyOfNode1(t, sys, time.Hour)
	sys.Root.Send(dir, &Placement{Self: "node2", Members: view, Quorum: 2, Reachable: 1,
		FailureTimeout: 1800 * time.Millisecond, Exited: []string{"node1"}})
	select {
	case st := <-resumed:
		if st.ID != "S" || st.InboundH != 20 {
			t.Fatalf("resumed %+v, want session S at h=20", st)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the standby of a driver whose process is gone was not promoted")
	}
}

// A holder silent to this node, and gone from its view, may still have a
// majority through the others (a partition that cuts it off from this
// node alone): the session is resumed only once no other member has been
// in contact with it lately. Before, it was resumed at once, and the
// holder, which kept its quorum through the third node, took its session
// back with an older h, which ended the session (the flapping partition).
func TestASessionWhoseHolderMayHaveQuorumElsewhereWaits(t *testing.T) {
	sys := quietSystem()
	var asked atomic.Int32
	witness, err := sys.Root.SpawnNamed(actor.PropsFromFunc(func(ctx actor.Context) {
		if q, ok := ctx.Message().(*focalpb.ContactQuery); ok {
			// Heard from the holder lately, for the first two questions.
			ctx.Respond(&focalpb.ContactSeen{Member: q.Member, Recent: asked.Add(1) <= 2})
		}
	}), Name)
	if err != nil {
		t.Fatal(err)
	}
	defer sys.Root.Stop(witness)

	dir, view, resumed := standbyOfNode1(t, sys, 10*time.Millisecond)
	sys.Root.Send(dir, &Placement{Self: "node2", Members: view, Quorum: 2, Reachable: 1, FailureTimeout: 1800 * time.Millisecond})
	select {
	case st := <-resumed:
		if st.ID != "S" || st.InboundH != 20 {
			t.Fatalf("resumed %+v, want session S at h=20", st)
		}
		if n := asked.Load(); n < 3 {
			t.Fatalf("resumed after %d questions to the witness, want the third, the first it answered out of contact", n)
		}
	case <-time.After(5 * time.Second):
		t.Fatalf("not resumed once the witness lost contact with the holder (asked %d times)", asked.Load())
	}
}
