package bridge

import (
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"focal/actors/bridge/selection"
	"focal/xmpp"
	"focal/xmpp/session"
)

// A bridge that did not answer in time is blamed only if the XMPP server
// answers a ping in time and was not seen slow in the last
// serverSlowMemory: when the server itself is too slow to answer, the
// delay is the server's (saturated by a join burst, every stanza queued
// behind the others) and the bridge stays in use; when the server
// answers, the bridge is the one that failed and is taken out of use.
func TestBridgeIsBlamedOnlyWhenTheServerAnswersInTime(t *testing.T) {
	const jvb1 = "jvbbrewery@internal.auth.meet.example.com/jvb1"
	wire := &answeredWire{answered: make(chan *xmpp.Element, 4), answers: []func(*xmpp.Element) (*xmpp.Element, error){
		func(*xmpp.Element) (*xmpp.Element, error) { return nil, session.ErrTimeout },
		func(iq *xmpp.Element) (*xmpp.Element, error) { return xmpp.ResultFor(iq, nil), nil },
	}}
	system := actor.NewActorSystem()
	defer system.Shutdown()
	events := make(chan any, 8)
	listener := system.Root.Spawn(actor.PropsFromFunc(func(ctx actor.Context) {
		switch msg := ctx.Message().(type) {
		case *Up, *Down:
			events <- msg
		}
	}))
	var clock atomic.Int64 // ns since the epoch
	clock.Store(time.Date(2026, 12, 7, 3, 0, 0, 0, time.UTC).UnixNano())
	props, err := NewBrewery(Config{
		Room: "jvbbrewery@internal.auth.meet.example.com", Nick: "focus", Selection: selection.DefaultConfig(),
		Health: HealthConfig{Timeout: time.Second}, Events: listener, Server: "auth.meet.example.com",
		Logger: slog.New(slog.DiscardHandler), Now: func() time.Time { return time.Unix(0, clock.Load()) },
	}, wire)
	if err != nil {
		t.Fatal(err)
	}
	brewery := system.Root.Spawn(props)
	presence := xmpp.NewElement("jabber:client", "presence", "from", jvb1)
	presence.Append(xmpp.StatsElement([]string{xmpp.StatHealthy}, map[string]string{xmpp.StatHealthy: "true"}))
	system.Root.Send(brewery, &Stanza{El: presence})
	awaitEvent(t, events, "the bridge's Up")

	operational := func() bool {
		t.Helper()
		res, err := system.Root.RequestFuture(brewery, &ListBridges{}, 5*time.Second).Result()
		if err != nil {
			t.Fatal(err)
		}
		list := res.([]Snapshot)
		if len(list) != 1 {
			t.Fatalf("bridges %+v", list)
		}
		return list[0].Operational
	}
	// The ping that decides is answered, and the answer handed to the
	// brewery, before answeredWire reports it: the ListBridges asked after
	// that comes after it in the brewery's mailbox.
	awaitPing := func() {
		t.Helper()
		select {
		case ping := <-wire.answered:
			if ping.AttrValue("to") != "auth.meet.example.com" || ping.Child("urn:xmpp:ping", "ping") == nil {
				t.Fatalf("the brewery asked %s, not a ping to the server", ping)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("the brewery did not ping the server")
		}
	}

	system.Root.Send(brewery, &Failed{Bridge: jvb1})
	awaitPing()
	if !operational() {
		t.Fatal("server too slow to answer, yet the bridge was taken out of use")
	}
	// Within serverSlowMemory of the slow ping, another timeout is the
	// server's too, without asking it again.
	clock.Add(int64(serverSlowMemory / 2))
	system.Root.Send(brewery, &Failed{Bridge: jvb1})
	if !operational() {
		t.Fatal("a timeout soon after the server was slow was blamed on the bridge")
	}
	select {
	case ping := <-wire.answered:
		t.Fatalf("asked %s while the server was known to be slow", ping)
	default:
	}
	clock.Add(int64(serverSlowMemory))
	system.Root.Send(brewery, &Failed{Bridge: jvb1})
	awaitPing()
	if operational() {
		t.Fatal("the server answered in time, yet the bridge that failed is still in use")
	}
	select {
	case ev := <-events:
		t.Errorf("a conference's failure published %#v; only a failed health check tells the conferences", ev)
	default:
	}
}

// answeredWire answers requests in turn with answers (the last one
// repeated) and reports each request on answered once its callback
// returned.
type answeredWire struct {
	mu       sync.Mutex
	answers  []func(iq *xmpp.Element) (*xmpp.Element, error)
	answered chan *xmpp.Element
}

func (w *answeredWire) Send(*xmpp.Element) error { return nil }

func (w *answeredWire) Request(iq *xmpp.Element, _ time.Duration, cb session.ResponseFunc) {
	w.mu.Lock()
	answer := w.answers[0]
	if len(w.answers) > 1 {
		w.answers = w.answers[1:]
	}
	w.mu.Unlock()
	go func() {
		cb(answer(iq))
		w.answered <- iq
	}()
}

func awaitEvent(t *testing.T, ch chan any, what string) any {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(5 * time.Second):
		t.Fatalf("no %s", what)
		return nil
	}
}

// A health check goes out with a ping to the server on the same stream:
// while the server does not answer its ping in time either, an unanswered
// check is the server's delay and the bridge is not reported down; once
// the server answers and the bridge still does not, it is.
func TestHealthCheckFailsTheBridgeOnlyWhenTheServerAnswers(t *testing.T) {
	const jvb1 = "jvbbrewery@internal.auth.meet.example.com/jvb1"
	var serverAnswers atomic.Bool
	var pings, checks atomic.Int32
	wire := &dispatchWire{answer: func(iq *xmpp.Element) (*xmpp.Element, error) {
		if iq.Child("urn:xmpp:ping", "ping") != nil {
			pings.Add(1)
			if serverAnswers.Load() {
				return xmpp.ResultFor(iq, nil), nil
			}
			return nil, session.ErrTimeout
		}
		checks.Add(1)
		return nil, session.ErrTimeout // the bridge never answers
	}}
	system := actor.NewActorSystem()
	defer system.Shutdown()
	events := make(chan any, 8)
	listener := system.Root.Spawn(actor.PropsFromFunc(func(ctx actor.Context) {
		switch msg := ctx.Message().(type) {
		case *Up, *Down:
			events <- msg
		}
	}))
	props, err := NewBrewery(Config{
		Room: "jvbbrewery@internal.auth.meet.example.com", Nick: "focus", Selection: selection.DefaultConfig(),
		Health: HealthConfig{Enabled: true, Interval: 20 * time.Millisecond, Timeout: time.Second}, Events: listener,
		Server: "auth.meet.example.com", Logger: slog.New(slog.DiscardHandler),
	}, wire)
	if err != nil {
		t.Fatal(err)
	}
	brewery := system.Root.Spawn(props)
	presence := xmpp.NewElement("jabber:client", "presence", "from", jvb1)
	presence.Append(xmpp.StatsElement([]string{xmpp.StatHealthy}, map[string]string{xmpp.StatHealthy: "true"}))
	system.Root.Send(brewery, &Stanza{El: presence})
	awaitEvent(t, events, "the bridge's Up")

	// Ten checks (and their retries' worth) with the server silent: no Down.
	deadline := time.Now().Add(10 * time.Second)
	for checks.Load() < 10 {
		select {
		case ev := <-events:
			t.Fatalf("%#v after %d checks while the server did not answer either", ev, checks.Load())
		case <-time.After(10 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("only %d health checks", checks.Load())
		}
	}
	if pings.Load() < checks.Load()-1 {
		t.Errorf("%d pings to the server for %d checks: one goes with each", pings.Load(), checks.Load())
	}
	serverAnswers.Store(true)
	if down, ok := awaitEvent(t, events, "the bridge's Down").(*Down); !ok || down.Bridge != jvb1 {
		t.Fatalf("got %#v, want jvb1 down", down)
	}
}

// dispatchWire answers every request with answer, at once.
type dispatchWire struct {
	answer func(iq *xmpp.Element) (*xmpp.Element, error)
}

func (w *dispatchWire) Send(*xmpp.Element) error { return nil }

func (w *dispatchWire) Request(iq *xmpp.Element, _ time.Duration, cb session.ResponseFunc) {
	go func() { cb(w.answer(iq)) }()
}

// A selection names the bridge by its brewery occupant JID and gives its
// own JID as well, from its latest presence: where Colibri2 can go without
// a seat in the brewery. A brewery that hides real JIDs gives none.
func TestSelectionGivesTheBridgesOwnJID(t *testing.T) {
	const jvb1 = "jvbbrewery@internal.auth.meet.example.com/jvb1"
	system := actor.NewActorSystem()
	defer system.Shutdown()
	events := make(chan any, 8)
	listener := system.Root.Spawn(actor.PropsFromFunc(func(ctx actor.Context) {
		if up, ok := ctx.Message().(*Up); ok {
			events <- up
		}
	}))
	props, err := NewBrewery(Config{
		Room: "jvbbrewery@internal.auth.meet.example.com", Nick: "focus", Selection: selection.DefaultConfig(),
		Health: HealthConfig{}, Events: listener, Logger: slog.New(slog.DiscardHandler),
	}, &answeredWire{answered: make(chan *xmpp.Element, 16), answers: []func(*xmpp.Element) (*xmpp.Element, error){
		func(iq *xmpp.Element) (*xmpp.Element, error) { return xmpp.ResultFor(iq, nil), nil },
	}})
	if err != nil {
		t.Fatal(err)
	}
	brewery := system.Root.Spawn(props)
	present := func(realJID string) {
		p := xmpp.NewElement("jabber:client", "presence", "from", jvb1)
		x := xmpp.NewElement(xmpp.NSMUCUser, "x")
		item := xmpp.NewElement(xmpp.NSMUCUser, "item", "affiliation", "none", "role", "participant")
		if realJID != "" {
			item.SetAttr("jid", realJID)
		}
		p.Append(x.Append(item))
		p.Append(xmpp.StatsElement([]string{xmpp.StatHealthy}, map[string]string{xmpp.StatHealthy: "true"}))
		system.Root.Send(brewery, &Stanza{El: p})
	}
	selected := func() *Selected {
		t.Helper()
		res, err := system.Root.RequestFuture(brewery, &Select{Room: "room1@conference.meet.example.com"}, 5*time.Second).Result()
		if err != nil {
			t.Fatal(err)
		}
		s := res.(*Selected)
		if s.Err != nil || s.Bridge != jvb1 {
			t.Fatalf("selected %+v", s)
		}
		return s
	}
	present("")
	awaitEvent(t, events, "the bridge's Up")
	for _, real := range []string{"jvb@auth.meet.example.com/a", "jvb@auth.meet.example.com/b", ""} {
		present(real)
		if s := selected(); s.Address != real {
			t.Errorf("after a presence from %q: address %q", real, s.Address)
		}
	}
}
