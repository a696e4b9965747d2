package session_test

import (
	"context"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	mxmpp "mellium.im/xmpp"

	"focal/internal/prosodytest"
	"focal/xmpp/session"
)

// A Session that resumes another's XEP-0198 session does so on a stream
// the pool logged in ahead of need: the cold dialer is not called, what A
// sent before it was cut is not lost, and B carries on the session (the
// component gets B's message). The pool logs another stream in for the
// next takeover.
func TestAResumptionUsesAWarmStream(t *testing.T) {
	srv := prosodytest.Start(t, prosodytest.Options{})
	register(t, srv, "alice")
	comp := startPeer(t, "component", componentDialer(srv))
	compAddr := comp.waitUp(t)

	warm := session.NewWarmDials(userOptions(srv, srv.C2SAddr, "alice", "warm"), 1, 0, slog.New(slog.DiscardHandler))
	defer warm.Close()
	eventually(t, "a warm stream ready", func() bool { return warm.Ready() == 1 })

	stA := cutOffSession(t, srv, func(a *peer) {
		if err := a.s.Send(headline(compAddr, "from-a")); err != nil {
			t.Fatal(err)
		}
		receivedInOrder(t, comp.stanzas, nil, "from-a")
	})

	var coldDials atomic.Int32
	cold := userDialer(srv, srv.C2SAddr, "alice", "node-b")
	dial := warm.Dialer(func(ctx context.Context) (*mxmpp.Session, string, error) {
		coldDials.Add(1)
		return cold(ctx)
	})
	recB := newSMRecorder()
	b := startPeerWith(t, "B", dial, func(c *session.Config) { c.StreamManagement = recB.config(stA) })
	b.waitUp(t)
	if n := coldDials.Load(); n != 0 {
		t.Fatalf("the resumption dialled %d cold streams", n)
	}
	if took := b.s.TookOver(); took.Session == "" {
		t.Fatalf("B resumed nothing: %+v", took)
	}
	if err := b.s.Send(headline(compAddr, "from-b")); err != nil {
		t.Fatal(err)
	}
	receivedInOrder(t, comp.stanzas, nil, "from-b")
	eventually(t, "another warm stream ready", func() bool { return warm.Ready() == 1 })
}

// A warm stream whose connection died while it waited (a reset it could
// not notice: it reads nothing) costs the resumption nothing but a failed
// write: the Dialer goes on with a cold stream at once, and the pool logs
// new streams in.
func TestADeadWarmStreamFallsBackToACold(t *testing.T) {
	srv := prosodytest.Start(t, prosodytest.Options{})
	register(t, srv, "alice")
	warmPx := startProxy(t, srv.C2SAddr)
	warm := session.NewWarmDials(userOptions(srv, warmPx.Addr(), "alice", "warm"), 1, 0, slog.New(slog.DiscardHandler))
	defer warm.Close()
	eventually(t, "a warm stream ready", func() bool { return warm.Ready() == 1 })
	warmPx.cut()

	stA := cutOffSession(t, srv, func(*peer) {})

	var coldDials atomic.Int32
	cold := userDialer(srv, srv.C2SAddr, "alice", "node-b")
	dial := warm.Dialer(func(ctx context.Context) (*mxmpp.Session, string, error) {
		coldDials.Add(1)
		return cold(ctx)
	})
	var dials atomic.Int32
	recB := newSMRecorder()
	b := startPeerWith(t, "B", func(ctx context.Context) (*mxmpp.Session, string, error) {
		dials.Add(1)
		return dial(ctx)
	}, func(c *session.Config) { c.StreamManagement = recB.config(stA) })
	b.waitUp(t)
	if n, c := dials.Load(), coldDials.Load(); n != 1 || c != 1 {
		t.Fatalf("B dialled %d times, %d of them cold; want one dial, going on cold after the dead warm stream", n, c)
	}
	if took := b.s.TookOver(); took.Session == "" {
		t.Fatalf("B resumed nothing: %+v", took)
	}
	eventually(t, "a new warm stream logged in", func() bool { return warm.LoggedIn() >= 2 })
}

// A warm stream older than the pool's age limit is replaced by a fresh
// one, and closing the pool ends every stream and goroutine (goleak).
func TestWarmStreamsAreReplacedWhenOld(t *testing.T) {
	srv := prosodytest.Start(t, prosodytest.Options{})
	register(t, srv, "alice")
	warm := session.NewWarmDials(userOptions(srv, srv.C2SAddr, "alice", "warm"), 2, 200*time.Millisecond, slog.New(slog.DiscardHandler))
	eventually(t, "two warm streams ready", func() bool { return warm.Ready() == 2 })
	eventually(t, "the first two replaced", func() bool { return warm.LoggedIn() >= 4 && warm.Ready() == 2 })
	warm.Close()
	if n := warm.Ready(); n != 0 {
		t.Errorf("%d warm streams after Close", n)
	}
}

// cutOffSession runs a session A as alice with stream management, hands
// it to use, then cuts A's connection without letting it resume, and
// returns the state another Session resumes A's session from.
func cutOffSession(t *testing.T, srv *prosodytest.Server, use func(*peer)) session.SMState {
	t.Helper()
	px := startProxy(t, srv.C2SAddr)
	rec := newSMRecorder()
	var dead atomic.Bool
	sm := rec.config(session.SMState{})
	sm.MayResume = func(session.SMState) bool { return !dead.Load() }
	a := startPeerWith(t, "A", userDialer(srv, px.Addr(), "alice", "node-a"),
		func(c *session.Config) { c.StreamManagement = sm })
	a.waitUp(t)
	rec.awaitState(t, "enabled", func(st session.SMState) bool { return st.ID != "" })
	use(a)
	dead.Store(true)
	px.cut()
	await(t, a.s.Done(), "A's Run to return")
	return rec.lastState()
}
