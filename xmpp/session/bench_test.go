package session_test

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"focal/internal/prosodytest"
	"focal/xmpp"
	"focal/xmpp/session"
)

// What a takeover costs per XMPP session, through the same Prosody: a new
// session (TLS, SCRAM, bind, XEP-0198 enable) against the resumption of a
// detached one (TLS, SCRAM, <resume/>). This is what decides how many
// sessions the focus should spread its rooms over: a node's failover pays
// one of these per session it takes over. A ping on an open session is the
// baseline.

func benchServer(b *testing.B) *prosodytest.Server {
	srv := prosodytest.Start(b, prosodytest.Options{})
	if err := srv.Register("alice", userPassword); err != nil {
		b.Fatal(err)
	}
	return srv
}

// open runs a session until it is up; stop ends it (cut, when detach).
func open(b *testing.B, srv *prosodytest.Server, resource string, resume session.SMState) (s *session.Session, stop func(detach bool) session.SMState) {
	s = session.New(session.Config{
		Name:             resource,
		Dial:             session.ClientDialer(userOptions(srv, srv.C2SAddr, "alice", resource)),
		Handler:          func(*xmpp.Element) {},
		StreamManagement: &session.StreamManagement{Resume: resume},
		Logger:           slog.New(slog.DiscardHandler),
	})
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { s.Run(ctx) })
	upCtx, upCancel := context.WithTimeout(ctx, 10*time.Second)
	defer upCancel()
	if err := s.WaitUp(upCtx); err != nil {
		cancel()
		wg.Wait()
		b.Fatalf("session %s not up: %v", resource, err)
	}
	return s, func(detach bool) session.SMState {
		defer wg.Wait()
		if detach {
			dctx, dcancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer dcancel()
			st, err := s.Detach(dctx)
			if err != nil {
				b.Fatalf("detach: %v", err)
			}
			return st
		}
		cancel()
		return session.SMState{}
	}
}

func BenchmarkSessionNew(b *testing.B) {
	srv := benchServer(b)
	b.ResetTimer()
	for i := range b.N {
		_, stop := open(b, srv, fmt.Sprintf("new-%d", i), session.SMState{})
		b.StopTimer()
		stop(false)
		b.StartTimer()
	}
}

func BenchmarkSessionResume(b *testing.B) {
	srv := benchServer(b)
	_, stop := open(b, srv, "resumed", session.SMState{})
	st := stop(true)
	b.ResetTimer()
	for range b.N {
		_, stop := open(b, srv, "taker", st)
		b.StopTimer()
		st = stop(true)
		b.StartTimer()
	}
	b.StopTimer()
	_, stop = open(b, srv, "last", st)
	stop(false)
}

func BenchmarkSessionPingBaseline(b *testing.B) {
	srv := benchServer(b)
	s, stop := open(b, srv, "pinger", session.SMState{})
	defer stop(false)
	ctx := context.Background()
	b.ResetTimer()
	for range b.N {
		ping := xmpp.NewIQ(xmpp.IQGet, "", "", "", xmpp.NewElement("urn:xmpp:ping", "ping"))
		if _, err := s.RequestWait(ctx, ping); err != nil {
			b.Fatal(err)
		}
	}
}
