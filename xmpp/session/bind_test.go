package session_test

import (
	"crypto/tls"
	"errors"
	"testing"

	"focal/internal/prosodytest"
	"focal/xmpp"
	"focal/xmpp/session"
)

// userDialer logs in as user@auth.<domain>/resource (user registered with
// password userPassword) at addr, which is Prosody's c2s address or a proxy
// in front of it.
func userDialer(srv *prosodytest.Server, addr, user, resource string) session.Dialer {
	return session.ClientDialer(userOptions(srv, addr, user, resource))
}

func userOptions(srv *prosodytest.Server, addr, user, resource string) session.ClientOptions {
	return session.ClientOptions{
		Addr:     addr,
		JID:      userJID(srv, user, resource),
		Password: userPassword,
		TLS:      &tls.Config{InsecureSkipVerify: true, ServerName: srv.AuthDomain()},
	}
}

const userPassword = "secret-of-a-user"

func userJID(srv *prosodytest.Server, user, resource string) string {
	return user + "@" + srv.AuthDomain() + "/" + resource
}

func register(t *testing.T, srv *prosodytest.Server, user string) {
	t.Helper()
	if err := srv.Register(user, userPassword); err != nil {
		t.Fatalf("register %s: %v", user, err)
	}
}

func TestClientBindsTheResourceAskedFor(t *testing.T) {
	srv := prosodytest.Start(t, prosodytest.Options{})
	register(t, srv, "alice")
	a := startPeer(t, "A", userDialer(srv, srv.C2SAddr, "alice", "focus-node-a"))
	b := startPeer(t, "B", userDialer(srv, srv.C2SAddr, "alice", "focus-node-b"))

	addrA, addrB := a.waitUp(t), b.waitUp(t)
	if want := "alice@" + srv.AuthDomain() + "/focus-node-a"; addrA != want || a.s.Addr() != want {
		t.Fatalf("A bound to %q (Addr %q), want %q", addrA, a.s.Addr(), want)
	}
	if want := "alice@" + srv.AuthDomain() + "/focus-node-b"; addrB != want || b.s.Addr() != want {
		t.Fatalf("B bound to %q (Addr %q), want %q", addrB, b.s.Addr(), want)
	}

	// Both sessions live side by side: each reaches the other at its full
	// JID, and the server stamps the sender's full JID on what each sends.
	ctx := boundedCtx(t)
	res, err := a.s.RequestWait(ctx, testIQ(addrB, "echo"))
	if err != nil {
		t.Fatalf("A to B: %v", err)
	}
	if res.AttrValue("from") != addrB || res.Child(nsTest, "echo").AttrValue("answered-by") != "B" {
		t.Fatalf("A got %s", res)
	}
	res, err = b.s.RequestWait(ctx, testIQ(addrA, "echo"))
	if err != nil {
		t.Fatalf("B to A: %v", err)
	}
	if res.AttrValue("from") != addrA || res.Child(nsTest, "echo").AttrValue("answered-by") != "A" {
		t.Fatalf("B got %s", res)
	}
	for _, p := range []*peer{a, b} {
		select {
		case ev := <-p.states:
			t.Fatalf("unexpected state event %+v", ev)
		default:
		}
	}
}

// Prosody resolves a resource conflict by evicting the older session
// (conflict_resolve = kick_old): its stream ends with a <conflict/> stream
// error. The evicted Session must not reconnect, which would evict the new
// one in turn, and so on.
func TestSessionEvictedByTheSameResourceStops(t *testing.T) {
	srv := prosodytest.Start(t, prosodytest.Options{})
	register(t, srv, "alice")
	old := startPeer(t, "old", userDialer(srv, srv.C2SAddr, "alice", "node-a"))
	addr := old.waitUp(t)

	newer := startPeer(t, "new", userDialer(srv, srv.C2SAddr, "alice", "node-a"))
	if got := newer.waitUp(t); got != addr {
		t.Fatalf("second session bound to %q, want %q", got, addr)
	}
	if ev := await(t, old.states, "the old session to go down"); ev.up {
		t.Fatalf("old session: %+v", ev)
	}
	await(t, old.s.Done(), "the old session's Run to return")
	if err := old.s.Err(); !errors.Is(err, session.ErrReplaced) {
		t.Fatalf("old session stopped with %v, want ErrReplaced", err)
	}
	if err := old.s.Send(testIQ(addr, "echo")); !errors.Is(err, session.ErrClosed) {
		t.Fatalf("Send on the evicted session: %v", err)
	}

	// The new session holds the resource and works.
	res, err := newer.s.RequestWait(boundedCtx(t), xmpp.NewIQ(xmpp.IQGet, "", "", "", xmpp.NewElement("urn:xmpp:ping", "ping")))
	if err != nil || res.AttrValue("to") != addr {
		t.Fatalf("ping on the new session: %v, %v", res, err)
	}
	select {
	case ev := <-newer.states:
		t.Fatalf("new session: unexpected state event %+v", ev)
	default:
	}
}
