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
)

// A conference request forwarded to an owner whose process is then proven
// gone is routed again at once, to the room's owner in the new view (this
// node, which drives the conference here), instead of waiting for the
// forward timeout (an hour here) and a retry by the client.
func TestARequestForwardedToAnExitedOwnerIsRoutedAgain(t *testing.T) {
	sys := quietSystem()
	// node1's directory never answers: its process is gone.
	gone, err := sys.Root.SpawnNamed(actor.PropsFromFunc(func(actor.Context) {}), Name)
	if err != nil {
		t.Fatal(err)
	}
	defer sys.Root.Stop(gone)
	// The room's conference, driven here: it answers every request.
	conf := sys.Root.Spawn(actor.PropsFromFunc(func(ctx actor.Context) {
		if req, ok := ctx.Message().(*focalpb.ConferenceRequest); ok {
			ctx.Respond(&focalpb.ConferenceResponse{Room: req.Room, Ready: true})
		}
	}))
	defer sys.Root.Stop(conf)

	cfg := DefaultConfig()
	cfg.Conference.Logger = slog.New(slog.DiscardHandler)
	cfg.ForwardTimeout = time.Hour
	d := newDirectory(cfg, noAnswers{t})
	node1 := cluster.Member{Name: "node1", NodeMeta: cluster.NodeMeta{Remote: sys.Address()}}
	node2 := cluster.Member{Name: "node2", NodeMeta: cluster.NodeMeta{Remote: "127.0.0.1:2"}}
	room := roomOwnedBy(t, d, "node1", []cluster.Member{node1, node2})
	d.rooms[room] = &entry{pid: conf}
	d.byPID[conf.Id] = room
	dir := sys.Root.Spawn(actor.PropsFromFunc(d.Receive))
	defer sys.Root.Stop(dir)

	sys.Root.Send(dir, &Placement{Self: "node2", Members: []cluster.Member{node1, node2}, Quorum: 1, FailureTimeout: 1800 * time.Millisecond})
	answer := sys.Root.RequestFuture(dir, &focalpb.ConferenceRequest{Room: room}, 5*time.Second)
	// Queued behind the request, so node1 has it by then.
	sys.Root.Send(dir, &Placement{Self: "node2", Members: []cluster.Member{node2}, Quorum: 1, FailureTimeout: 1800 * time.Millisecond,
		Exited: []string{"node1"}})
	res, err := answer.Result()
	if err != nil {
		t.Fatalf("no answer after node1 was found gone: %v", err)
	}
	if r, ok := res.(*focalpb.ConferenceResponse); !ok || !r.Ready {
		t.Fatalf("answered %v, want ready", res)
	}
}

// A conference request whose owner does not answer (here a member this
// node cannot reach at all) is relayed once through another member, which
// forwards it by its own view, and its answer comes back: two members cut
// off from each other alone still serve each other's participants
// through the third.
func TestARequestTheOwnerDoesNotAnswerIsRelayedThroughAnotherMember(t *testing.T) {
	sys := quietSystem()
	// node3's directory: it answers what is relayed to it for passing on.
	relayed := make(chan *focalpb.ConferenceRequest, 1)
	relay := readyDirectory(t, sys, relayed)
	defer sys.Root.Stop(relay)

	cfg := DefaultConfig()
	cfg.Conference.Logger = slog.New(slog.DiscardHandler)
	cfg.ForwardTimeout = 200 * time.Millisecond
	d := newDirectory(cfg, noAnswers{t})
	// node1, the owner, is at an address nothing reaches.
	node1 := cluster.Member{Name: "node1", NodeMeta: cluster.NodeMeta{Remote: "127.0.0.1:1"}}
	node2 := cluster.Member{Name: "node2", NodeMeta: cluster.NodeMeta{Remote: "127.0.0.1:2"}}
	node3 := cluster.Member{Name: "node3", NodeMeta: cluster.NodeMeta{Remote: sys.Address()}}
	members := []cluster.Member{node1, node2, node3}
	room := roomOwnedBy(t, d, "node1", members)
	dir := sys.Root.Spawn(actor.PropsFromFunc(d.Receive))
	defer sys.Root.Stop(dir)

	sys.Root.Send(dir, &Placement{Self: "node2", Members: members, Quorum: 2, FailureTimeout: 1800 * time.Millisecond})
	res, err := sys.Root.RequestFuture(dir, &focalpb.ConferenceRequest{Room: room}, 5*time.Second).Result()
	if err != nil {
		t.Fatalf("no answer: %v", err)
	}
	if r, ok := res.(*focalpb.ConferenceResponse); !ok || !r.Ready {
		t.Fatalf("answered %v, want the relay's ready", res)
	}
	if req := <-relayed; !req.Relayed || !req.PassOn || !req.Forwarded {
		t.Errorf("node3 got %v, want a request relayed to pass on", req)
	}
}

// The member a request is relayed through forwards it to the room's owner
// by its own view, once: it clears pass_on, so the owner serves it, and
// does not relay it again.
func TestARelayedRequestIsPassedOnOnce(t *testing.T) {
	sys := quietSystem()
	got := make(chan *focalpb.ConferenceRequest, 1)
	owner := readyDirectory(t, sys, got)
	defer sys.Root.Stop(owner)

	cfg := DefaultConfig()
	cfg.Conference.Logger = slog.New(slog.DiscardHandler)
	d := newDirectory(cfg, noAnswers{t})
	node1 := cluster.Member{Name: "node1", NodeMeta: cluster.NodeMeta{Remote: sys.Address()}}
	node2 := cluster.Member{Name: "node2", NodeMeta: cluster.NodeMeta{Remote: "127.0.0.1:2"}}
	members := []cluster.Member{node1, node2}
	room := roomOwnedBy(t, d, "node1", members)
	dir := sys.Root.Spawn(actor.PropsFromFunc(d.Receive))
	defer sys.Root.Stop(dir)

	sys.Root.Send(dir, &Placement{Self: "node2", Members: members, Quorum: 2, FailureTimeout: 1800 * time.Millisecond})
	req := &focalpb.ConferenceRequest{Room: room, Forwarded: true, Relayed: true, PassOn: true}
	res, err := sys.Root.RequestFuture(dir, req, 5*time.Second).Result()
	if err != nil {
		t.Fatalf("no answer: %v", err)
	}
	if r, ok := res.(*focalpb.ConferenceResponse); !ok || !r.Ready {
		t.Fatalf("answered %v, want the owner's ready", res)
	}
	if fwd := <-got; fwd.PassOn || !fwd.Relayed || !fwd.Forwarded {
		t.Errorf("the owner got %v, want it forwarded, relayed, not to pass on", fwd)
	}
}

// A request a standby here held for StandbyWait goes to the owner the
// standby names, even one this node does not hear (relayed then), and the
// owner's answer to the requester.
func TestARequestAStandbyGaveUpOnGoesToItsOwner(t *testing.T) {
	sys := quietSystem()
	relay, err := sys.Root.SpawnNamed(actor.PropsFromFunc(func(ctx actor.Context) {
		if req, ok := ctx.Message().(*focalpb.ConferenceRequest); ok && req.Relayed && req.PassOn {
			ctx.Respond(&focalpb.ConferenceResponse{Room: req.Room, Ready: true})
		}
	}), Name)
	if err != nil {
		t.Fatal(err)
	}
	defer sys.Root.Stop(relay)
	answers := make(chan *focalpb.ConferenceResponse, 1)
	requester := probe(sys, answers, nil)

	cfg := DefaultConfig()
	cfg.Conference.Logger = slog.New(slog.DiscardHandler)
	cfg.ForwardTimeout = 200 * time.Millisecond
	d := newDirectory(cfg, noAnswers{t})
	node1 := cluster.Member{Name: "node1", NodeMeta: cluster.NodeMeta{Remote: "127.0.0.1:1"}}
	node2 := cluster.Member{Name: "node2", NodeMeta: cluster.NodeMeta{Remote: "127.0.0.1:2"}}
	node3 := cluster.Member{Name: "node3", NodeMeta: cluster.NodeMeta{Remote: sys.Address()}}
	dir := sys.Root.Spawn(actor.PropsFromFunc(d.Receive))
	defer sys.Root.Stop(dir)

	sys.Root.Send(dir, &Placement{Self: "node2", Members: []cluster.Member{node1, node2, node3}, Quorum: 2, FailureTimeout: 1800 * time.Millisecond})
	sys.Root.Send(dir, &conference.StandbyGaveUp{Request: &focalpb.ConferenceRequest{Room: "room1@conference.example.com"}, To: requester, Owner: "node1"})
	select {
	case res := <-answers:
		if !res.Ready {
			t.Errorf("answered %v, want the owner's ready through the relay", res)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the requester got no answer")
	}
}

// A request another node forwarded here, for a room whose conference only
// stands by here, goes on to the owner when that owner is heard here: it
// answers at once, where the standby would hold the request until a
// promotion that never comes while the owner lives (the sender may not
// reach the owner itself). Passed on once: marked relayed.
func TestAForwardedRequestForAStandbyGoesOnToItsLiveOwner(t *testing.T) {
	sys := quietSystem()
	got := make(chan *focalpb.ConferenceRequest, 1)
	owner := readyDirectory(t, sys, got)
	defer sys.Root.Stop(owner)
	standby := sys.Root.Spawn(actor.PropsFromFunc(func(ctx actor.Context) {
		if _, ok := ctx.Message().(*focalpb.ConferenceRequest); ok {
			t.Errorf("the standby got the request")
		}
	}))
	defer sys.Root.Stop(standby)

	cfg := DefaultConfig()
	cfg.Conference.Logger = slog.New(slog.DiscardHandler)
	d := newDirectory(cfg, noAnswers{t})
	node1 := cluster.Member{Name: "node1", NodeMeta: cluster.NodeMeta{Remote: sys.Address()}}
	node2 := cluster.Member{Name: "node2", NodeMeta: cluster.NodeMeta{Remote: "127.0.0.1:2"}}
	node3 := cluster.Member{Name: "node3", NodeMeta: cluster.NodeMeta{Remote: "127.0.0.1:3"}}
	members := []cluster.Member{node1, node2, node3}
	// node2 stands by for node1, its owner.
	room := ""
	for i := range 1000 {
		r := fmt.Sprintf("r%d@c", i)
		if ranked := cluster.Ranked(cluster.ShardKey(d.shardOf(r)), members); ranked[0].Name == "node1" && ranked[1].Name == "node2" {
			room = r
			break
		}
	}
	d.rooms[room] = &entry{pid: standby, standby: true, owner: "node1"}
	d.byPID[standby.Id] = room
	dir := sys.Root.Spawn(actor.PropsFromFunc(d.Receive))
	defer sys.Root.Stop(dir)

	sys.Root.Send(dir, &Placement{Self: "node2", Members: members, Quorum: 2, FailureTimeout: 1800 * time.Millisecond})
	res, err := sys.Root.RequestFuture(dir, &focalpb.ConferenceRequest{Room: room, Forwarded: true}, 5*time.Second).Result()
	if err != nil {
		t.Fatalf("no answer: %v", err)
	}
	if r, ok := res.(*focalpb.ConferenceResponse); !ok || !r.Ready {
		t.Fatalf("answered %v, want the owner's ready", res)
	}
	if fwd := <-got; !fwd.Relayed || !fwd.Forwarded || fwd.PassOn {
		t.Errorf("the owner got %v, want it forwarded and relayed, not to pass on", fwd)
	}
}

// readyDirectory stands for another member's directory (named Name, at
// sys's address): it passes every conference request it gets to got and
// answers it ready.
func readyDirectory(t *testing.T, sys *actor.ActorSystem, got chan<- *focalpb.ConferenceRequest) *actor.PID {
	t.Helper()
	pid, err := sys.Root.SpawnNamed(actor.PropsFromFunc(func(ctx actor.Context) {
		if req, ok := ctx.Message().(*focalpb.ConferenceRequest); ok {
			got <- req
			ctx.Respond(&focalpb.ConferenceResponse{Room: req.Room, Ready: true})
		}
	}), Name)
	if err != nil {
		t.Fatal(err)
	}
	return pid
}
