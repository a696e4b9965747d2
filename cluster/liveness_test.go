package cluster

import (
	"fmt"
	"net"
	"slices"
	"testing"
	"time"
)

// startWithLiveness starts a member that offers a liveness listener,
// closed when the test ends (after the member's shutdown).
func startWithLiveness(t *testing.T, name string, join ...string) (*Membership, *LivenessListener) {
	t.Helper()
	l, err := ListenLiveness("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	m, err := Start(Config{
		Name:   name,
		Gossip: "127.0.0.1:0",
		Join:   join,
		Meta:   NodeMeta{Remote: fmt.Sprintf("127.0.0.1:%d", remotePort.Add(1)), Liveness: l.Addr()},
		Logger: testLogger(t),
	})
	if err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	t.Cleanup(func() {
		if err := m.Shutdown(); err != nil {
			t.Errorf("shutdown %s: %v", name, err)
		}
	})
	return m, l
}

// A member whose liveness listener closes, as a process's does when it
// exits, leaves the others' members at once, long before memberlist would
// declare it dead: here memberlist never does, since the member still
// gossips. A new listener on the same address (a restarted process) brings
// it back once a connection to it has held.
func TestAMemberWhoseLivenessAddressRefusesIsGone(t *testing.T) {
	a, _ := startWithLiveness(t, "node-a")
	b, bl := startWithLiveness(t, "node-b", a.Local().Addr)
	waitFor(t, a, "sees b", exactly("node-a", "node-b"))
	waitFor(t, b, "sees a", exactly("node-a", "node-b"))
	addr := bl.Addr()

	closed := time.Now()
	if err := bl.Close(); err != nil {
		t.Fatal(err)
	}
	gone := waitFor(t, a, "drops b", without("node-b"))
	t.Logf("b dropped %v after its liveness listener closed", gone.Sub(closed).Round(time.Millisecond))
	if got := a.Exited(); !slices.Equal(got, []string{"node-b"}) {
		t.Fatalf("exited %v, want [node-b]", got)
	}
	if _, ok := a.Contacts()["node-b"]; ok {
		t.Error("a gone member still has a contact")
	}

	again, err := ListenLiveness(addr)
	if err != nil {
		t.Fatal(err)
	}
	defer again.Close()
	back := waitFor(t, a, "takes b back", exactly("node-a", "node-b"))
	if back.Sub(gone) < livenessHeld {
		t.Errorf("b back %v after it was found gone, before a connection could hold for %v", back.Sub(gone), livenessHeld)
	}
	if got := a.Exited(); len(got) != 0 {
		t.Fatalf("exited %v after b came back", got)
	}
}

// A member whose process does not accept connections any more, but whose
// kernel still does (a stopped process: SIGSTOP), is not gone: the
// connection to it is established and never ends. The watch reports it
// back (held), never gone.
func TestAListenerThatAcceptsNothingIsNotGone(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0") // never Accept: a stopped process
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	reports := make(chan bool, 16)
	w := newLivenessWatch(func(name, addr string, gone bool) { reports <- gone })
	defer w.close()
	w.follow("node-b", ln.Addr().String())
	select {
	case gone := <-reports:
		if gone {
			t.Fatal("a listener that accepts nothing was reported gone")
		}
	case <-time.After(eventTimeout):
		t.Fatal("no report")
	}
}

// An address nobody listens on is gone from the first dial; one whose
// connection ends while the listener stays (a peer closing it, or the
// listener's own limit) is dialled again and not reported gone.
func TestOnlyARefusalProvesGone(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	accepted := make(chan net.Conn, 4)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted <- c
		}
	}()
	reports := make(chan bool, 16)
	w := newLivenessWatch(func(name, addr string, gone bool) { reports <- gone })
	defer w.close()
	w.follow("node-b", addr)

	(<-accepted).Close() // the connection ends, the listener stays
	var held net.Conn
	select {
	case held = <-accepted: // dialled again
	case gone := <-reports:
		t.Fatalf("reported gone=%v before dialling again", gone)
	case <-time.After(eventTimeout):
		t.Fatal("not dialled again")
	}
	if gone := <-reports; gone {
		t.Fatal("reported gone while the address still accepts")
	}

	// The process exits: listener and connection close.
	ln.Close()
	held.Close()
	for {
		select {
		case gone := <-reports:
			if gone {
				return
			}
		case <-time.After(eventTimeout):
			t.Fatal("not reported gone once the address refused")
		}
	}
}
