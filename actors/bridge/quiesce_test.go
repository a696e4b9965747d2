package bridge

import (
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"focal/media/sources"
	"focal/xmpp"
	"focal/xmpp/session"
)

// heldWire keeps every request unanswered until the test answers it.
type heldWire struct{ asked chan heldRequest }

type heldRequest struct {
	iq *xmpp.Element
	cb session.ResponseFunc
}

func (w *heldWire) Send(*xmpp.Element) error { return nil }
func (w *heldWire) Request(iq *xmpp.Element, _ time.Duration, cb session.ResponseFunc) {
	w.asked <- heldRequest{iq, cb}
}

// Quiesce is answered only once the bridge has answered every request
// sent before it (a conference handing over waits for it, so that none of
// its requests reaches the bridge after its successor's), and at once
// when none is out.
func TestQuiesceWaitsForTheBridgesAnswers(t *testing.T) {
	system := actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger { return slog.New(slog.DiscardHandler) }))
	defer system.Shutdown()
	wire := &heldWire{asked: make(chan heldRequest, 4)}
	s := system.Root.Spawn(NewColibriSession(ColibriConfig{
		Bridge: "jvbbrewery@internal.auth.meet.example.com/jvb1", MeetingID: "m-1", Room: "room@conference.example.com",
		Wire: wire, Logger: slog.New(slog.DiscardHandler), Resume: true, Endpoints: []string{"alice"},
	}, "s-1"))
	defer system.Root.Stop(s)

	quiesced := func(within time.Duration) bool {
		_, err := system.Root.RequestFuture(s, &Quiesce{}, within).Result()
		return err == nil
	}
	if !quiesced(5 * time.Second) {
		t.Fatal("a session with nothing out did not answer Quiesce")
	}
	set := sources.Set{Sources: []sources.Source{{SSRC: 1001, Media: sources.Audio}}}
	system.Root.Send(s, &UpdateEndpoint{Endpoint: "alice", Sources: &set})
	var out heldRequest
	select {
	case out = <-wire.asked:
	case <-time.After(5 * time.Second):
		t.Fatal("the update was not sent")
	}
	f := system.Root.RequestFuture(s, &Quiesce{}, 10*time.Second)
	var answered atomic.Bool
	time.AfterFunc(300*time.Millisecond, func() {
		answered.Store(true)
		out.cb(xmpp.ResultFor(out.iq, nil), nil)
	})
	if _, err := f.Result(); err != nil {
		t.Fatalf("Quiesce not answered after the bridge answered: %v", err)
	}
	if !answered.Load() {
		t.Error("Quiesce answered while the update was still out")
	}
}
