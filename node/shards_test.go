package node

import (
	"log/slog"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"focal/actors/conference"
	"focal/xmpp/session"
)

// A shard session ships each resumption state only once the conferences
// have handled what it counts (a barrier), and does so on its read loop,
// which waits meanwhile. Conferences handing over leave that barrier
// unanswered; the release that follows waits for the server's
// acknowledgement, which only the read loop can take in. So the barrier's
// wait must end when the session is released, not at its timeout: it did
// not, and releases took the barrier's 2 s (1.9 s in the flapping
// partition; SIGTERM's conferences went 2–3 s without service so).
func TestAWaitForABarrierEndsWhenTheSessionIsReleased(t *testing.T) {
	sys := actor.NewActorSystem()
	asked := make(chan struct{}, 4)
	ingress := sys.Root.Spawn(actor.PropsFromFunc(func(ctx actor.Context) {
		if _, ok := ctx.Message().(*conference.Barrier); ok {
			asked <- struct{}{} // and never answered
		}
	}))
	defer sys.Root.Stop(ingress)
	n := &Node{system: sys, ingress: ingress, log: slog.New(slog.DiscardHandler)}
	ss := &shardSession{
		Session: session.New(session.Config{Name: "shard-1", Logger: slog.New(slog.DiscardHandler)}),
		node:    n, id: "shard-1.1", shard: 1, stopWaits: make(chan struct{}),
	}
	ss.mayResume.Store(true)

	returned := make(chan struct{})
	go func() {
		defer close(returned)
		ss.handOff(session.SMState{ID: "S", InboundH: 3})
	}()
	select {
	case <-asked:
	case <-time.After(5 * time.Second):
		t.Fatal("no barrier asked for the stanzas counted")
	}
	ss.SetMayResume(false) // released
	select {
	case <-returned:
	case <-time.After(barrierTimeout / 2):
		t.Fatalf("still waiting for the barrier %v after the release (its timeout is %v)", barrierTimeout/2, barrierTimeout)
	}
	n.shardRuns.Wait() // the barrier's future, until its timeout
}
