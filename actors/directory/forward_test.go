package directory

import (
	"log/slog"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"

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
