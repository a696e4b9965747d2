package bridge

import (
	"log/slog"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"focal/xmpp"
	"focal/xmpp/session"
)

// scriptedWire answers the colibri session's requests in turn with the
// given outcomes and records what was asked.
type scriptedWire struct {
	mu      sync.Mutex
	answers []func(iq *xmpp.Element) (*xmpp.Element, error)
	asked   []*xmpp.Element
}

func (w *scriptedWire) Send(*xmpp.Element) error { return nil }

func (w *scriptedWire) Request(iq *xmpp.Element, _ time.Duration, cb session.ResponseFunc) {
	w.mu.Lock()
	w.asked = append(w.asked, iq)
	answer := w.answers[0]
	if len(w.answers) > 1 {
		w.answers = w.answers[1:]
	}
	w.mu.Unlock()
	go func() { cb(answer(iq)) }()
}

func (w *scriptedWire) requests() []*xmpp.Element {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]*xmpp.Element(nil), w.asked...)
}

// A request that cannot leave because the node's own stream is down is
// sent again, not taken as the bridge failing; a create the bridge already
// has (conflict, conference_already_exists) carries on with that
// conference instead of starting over into the same conflict.
func TestColibriSessionRetriesAndAdoptsItsConference(t *testing.T) {
	golden, err := os.ReadFile("../../xmpp/testdata/colibri2/conference-modified.xml")
	if err != nil {
		t.Fatal(err)
	}
	modified, err := xmpp.Parse(golden)
	if err != nil {
		t.Fatal(err)
	}
	conflict := func(iq *xmpp.Element) (*xmpp.Element, error) {
		res := xmpp.ErrorFor(iq, xmpp.NewStanzaError(xmpp.Conflict, "Conference already exists"))
		res.Child(res.Name.Space, "error").Append(xmpp.NewElement(xmpp.Colibri2NS, "error", "reason", string(xmpp.Colibri2ConferenceAlreadyExists)))
		return res, xmpp.NewStanzaError(xmpp.Conflict, "Conference already exists")
	}
	wire := &scriptedWire{answers: []func(*xmpp.Element) (*xmpp.Element, error){
		func(*xmpp.Element) (*xmpp.Element, error) { return nil, session.ErrNotConnected },
		func(*xmpp.Element) (*xmpp.Element, error) { return nil, session.ErrDisconnected },
		conflict,
		func(*xmpp.Element) (*xmpp.Element, error) { return modified, nil },
	}}

	system := actor.NewActorSystem()
	defer system.Shutdown()
	got := make(chan any, 4)
	parent := system.Root.Spawn(actor.PropsFromFunc(func(ctx actor.Context) {
		switch msg := ctx.Message().(type) {
		case *actor.Started:
			child := ctx.Spawn(NewColibriSession(ColibriConfig{
				Bridge: "jvbbrewery@internal.auth.meet.example.com/jvb1", MeetingID: "m-1", Room: "room@conference.example.com",
				Wire: wire, Logger: slog.New(slog.DiscardHandler),
			}, "s-1"))
			ctx.Send(child, &Allocate{Endpoint: "7b2f3c1d"})
		case *Allocated, *ColibriFailed:
			got <- msg
		}
	}))
	defer system.Root.Stop(parent)

	select {
	case msg := <-got:
		if _, ok := msg.(*Allocated); !ok {
			t.Fatalf("got %#v, want Allocated", msg)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no answer from the colibri session")
	}
	asked := wire.requests()
	if len(asked) != 4 {
		t.Fatalf("%d requests, want 4 (two unsent, the conflicting create, the adopting one)", len(asked))
	}
	creates := func(iq *xmpp.Element) bool {
		return iq.Child(xmpp.Colibri2NS, "conference-modify").AttrValue("create") == "true"
	}
	for i, iq := range asked[:3] {
		if !creates(iq) {
			t.Errorf("request %d does not create the conference: %s", i+1, iq)
		}
	}
	if creates(asked[3]) {
		t.Errorf("the request after the conflict creates again: %s", asked[3])
	}
}
