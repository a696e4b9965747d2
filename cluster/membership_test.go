package cluster

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// eventTimeout bounds every wait for a membership event. It is generous on
// purpose: the tests check what happens, the figures they log say how fast.
const eventTimeout = 10 * time.Second

// testLog sends a test's log to t.Output until the test ends; memberlist's
// timers may still log a moment after Shutdown, and writing to a finished
// test panics.
type testLog struct {
	mu   sync.Mutex
	w    io.Writer
	done bool
}

func (l *testLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.done {
		l.w.Write(p)
	}
	return len(p), nil
}

func testLogger(t *testing.T) *slog.Logger {
	t.Helper()
	l := &testLog{w: t.Output()}
	t.Cleanup(func() { l.mu.Lock(); l.done = true; l.mu.Unlock() })
	return slog.New(slog.NewTextHandler(l, &slog.HandlerOptions{Level: slog.LevelInfo}))
}

// remotePort gives each test node distinct meta, so that a member seen with
// another's meta would show.
var remotePort atomic.Int32

func init() { remotePort.Store(20000) }

// startNode starts a member on a free loopback port, shut down when the test
// ends.
func startNode(t *testing.T, log *slog.Logger, name string, join ...string) *Membership {
	t.Helper()
	return startAt(t, log, name, "127.0.0.1:0", join...)
}

func startAt(t *testing.T, log *slog.Logger, name, gossip string, join ...string) *Membership {
	t.Helper()
	m, err := Start(Config{
		Name:   name,
		Gossip: gossip,
		Join:   join,
		Meta:   NodeMeta{Remote: fmt.Sprintf("127.0.0.1:%d", remotePort.Add(1)), HTTP: "127.0.0.1:8888"},
		Logger: log,
	})
	if err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	t.Cleanup(func() {
		if err := m.Shutdown(); err != nil {
			t.Errorf("shutdown %s: %v", name, err)
		}
	})
	return m
}

// waitFor waits, on m's change notifications, until cond holds for m's
// members, and returns when it first held.
func waitFor(t *testing.T, m *Membership, what string, cond func([]Member) bool) time.Time {
	t.Helper()
	changes, cancel := m.Subscribe()
	defer cancel()
	deadline := time.After(eventTimeout)
	for {
		if cond(m.Members()) {
			return time.Now()
		}
		select {
		case _, ok := <-changes:
			if !ok {
				t.Fatalf("%s: %s: membership shut down", m.Local().Name, what)
			}
		case <-deadline:
			t.Fatalf("%s: %s: not after %v; members %v", m.Local().Name, what, eventTimeout, names(m.Members()))
		}
	}
}

func names(ms []Member) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = m.Name
	}
	return out
}

func exactly(want ...string) func([]Member) bool {
	slices.Sort(want)
	return func(ms []Member) bool { return slices.Equal(names(ms), want) }
}

func without(name string) func([]Member) bool {
	return func(ms []Member) bool {
		return !slices.ContainsFunc(ms, func(m Member) bool { return m.Name == name })
	}
}

func startThree(t *testing.T) (a, b, c *Membership) {
	t.Helper()
	log := testLogger(t)
	a = startNode(t, log, "node-a")
	b = startNode(t, log, "node-b", a.Local().Addr)
	c = startNode(t, log, "node-c", a.Local().Addr)
	for _, m := range []*Membership{a, b, c} {
		waitFor(t, m, "sees all three", exactly("node-a", "node-b", "node-c"))
	}
	return a, b, c
}

func TestThreeMembersSeeEachOtherWithTheirMeta(t *testing.T) {
	a, b, c := startThree(t)
	for _, m := range []*Membership{a, b, c} {
		got := m.Members()
		for i, want := range []*Membership{a, b, c} {
			if got[i] != want.Local() {
				t.Errorf("%s sees %+v, want %+v", m.Local().Name, got[i], want.Local())
			}
		}
	}
}

func TestNodeWithoutJoinIsAClusterOfOne(t *testing.T) {
	a := startNode(t, testLogger(t), "node-a")
	if got := a.Members(); len(got) != 1 || got[0] != a.Local() {
		t.Fatalf("members %+v, want only %+v", got, a.Local())
	}
	if !strings.HasPrefix(a.Local().Addr, "127.0.0.1:") || strings.HasSuffix(a.Local().Addr, ":0") {
		t.Fatalf("local address %q, want the bound loopback port", a.Local().Addr)
	}
}

// freeAddr finds a loopback port free for both TCP and UDP, for a node
// that must be named in another's Join before it starts.
func freeAddr(t *testing.T) string {
	t.Helper()
	for range 20 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := l.Addr().String()
		u, err := net.ListenPacket("udp", addr)
		l.Close()
		if err == nil {
			u.Close()
			return addr
		}
	}
	t.Fatal("no loopback port free for both TCP and UDP")
	return ""
}

func TestJoinWaitsForPeersThatStartLater(t *testing.T) {
	log := testLogger(t)
	addrA := freeAddr(t)
	// c lists a not yet started, b lists c: the reverse of start order.
	c := startNode(t, log, "node-c", addrA)
	b := startNode(t, log, "node-b", c.Local().Addr)
	waitFor(t, c, "sees b", exactly("node-b", "node-c"))
	if got := names(c.Members()); slices.Contains(got, "node-a") {
		t.Fatalf("c sees a before it started: %v", got)
	}
	start := time.Now()
	a := startAt(t, log, "node-a", addrA)
	for _, m := range []*Membership{a, b, c} {
		waitFor(t, m, "sees all three", exactly("node-a", "node-b", "node-c"))
	}
	t.Logf("late peer joined %v after it started", time.Since(start).Round(time.Millisecond))
}

func TestJoinListMayNameEveryNodeIncludingSelf(t *testing.T) {
	log := testLogger(t)
	addrs := []string{freeAddr(t), freeAddr(t)}
	a := startAt(t, log, "node-a", addrs[0], addrs...)
	b := startAt(t, log, "node-b", addrs[1], addrs...)
	waitFor(t, a, "sees b", exactly("node-a", "node-b"))
	waitFor(t, b, "sees a", exactly("node-a", "node-b"))
}

func TestCrashedMemberIsDetectedAsDead(t *testing.T) {
	a, b, c := startThree(t)
	crash := time.Now()
	if err := c.Shutdown(); err != nil { // no Leave: as if killed
		t.Fatal(err)
	}
	seenA := waitFor(t, a, "drops crashed c", without("node-c"))
	seenB := waitFor(t, b, "drops crashed c", without("node-c"))
	t.Logf("crash detected after %v (a) and %v (b)", seenA.Sub(crash).Round(time.Millisecond), seenB.Sub(crash).Round(time.Millisecond))
}

func TestLeaveRemovesMemberPromptly(t *testing.T) {
	a, b, c := startThree(t)
	start := time.Now()
	if err := c.Leave(2 * time.Second); err != nil {
		t.Fatal(err)
	}
	seenA := waitFor(t, a, "drops leaving c", without("node-c"))
	seenB := waitFor(t, b, "drops leaving c", without("node-c"))
	took := max(seenA.Sub(start), seenB.Sub(start))
	t.Logf("leave seen after %v (a) and %v (b)", seenA.Sub(start).Round(time.Millisecond), seenB.Sub(start).Round(time.Millisecond))
	if took > 2*time.Second {
		t.Errorf("leave took %v to be seen, want it well below failure detection", took)
	}
	if err := c.SetDraining(true); !errors.Is(err, ErrClosed) {
		t.Errorf("SetDraining after Leave: %v, want ErrClosed", err)
	}
}

func TestDrainingIsVisibleToOthersAndMovesOwnership(t *testing.T) {
	a, b, c := startThree(t)
	room := ""
	for i := 0; room == ""; i++ { // a room b owns
		if o, _ := Owner(roomKey(i), a.Members()); o.Name == "node-b" {
			room = roomKey(i)
		}
	}
	bDraining := func(want bool) func([]Member) bool {
		return func(ms []Member) bool {
			i := slices.IndexFunc(ms, func(m Member) bool { return m.Name == "node-b" })
			return i >= 0 && ms[i].Draining == want
		}
	}
	if err := b.SetDraining(true); err != nil {
		t.Fatal(err)
	}
	if !b.Local().Draining {
		t.Fatal("Local does not show draining")
	}
	for _, m := range []*Membership{a, b, c} {
		waitFor(t, m, "sees b draining", bDraining(true))
		if o, _ := Owner(room, m.Members()); o.Name == "node-b" {
			t.Errorf("%s still gives %s to draining b", m.Local().Name, room)
		}
	}
	if err := b.SetDraining(false); err != nil {
		t.Fatal(err)
	}
	for _, m := range []*Membership{a, b, c} {
		waitFor(t, m, "sees b back", bDraining(false))
		if o, _ := Owner(room, m.Members()); o.Name != "node-b" {
			t.Errorf("%s gives %s to %s after b called off its drain", m.Local().Name, room, o.Name)
		}
	}
}

func TestMetaOverTheLimitIsRefusedAtStart(t *testing.T) {
	_, err := Start(Config{
		Name:   "node-a",
		Gossip: "127.0.0.1:0",
		Meta:   NodeMeta{HTTP: strings.Repeat("x", MaxMetaSize)},
		Logger: testLogger(t),
	})
	if !errors.Is(err, ErrMetaTooLarge) {
		t.Fatalf("Start with %d-byte meta: %v, want ErrMetaTooLarge", MaxMetaSize, err)
	}
}

func TestBadConfigIsRefused(t *testing.T) {
	for _, c := range []struct {
		name string
		cfg  Config
	}{
		{"no name", Config{Gossip: "127.0.0.1:0"}},
		{"no port", Config{Name: "a", Gossip: "127.0.0.1"}},
		{"host name", Config{Name: "a", Gossip: "localhost:0"}},
		{"unspecified", Config{Name: "a", Gossip: "0.0.0.0:0"}},
		{"bad port", Config{Name: "a", Gossip: "127.0.0.1:70000"}},
		{"bad join", Config{Name: "a", Gossip: "127.0.0.1:0", Join: []string{"127.0.0.1"}}},
		{"probe timeout", Config{Name: "a", Gossip: "127.0.0.1:0", Timing: Timing{ProbeTimeout: time.Second}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			c.cfg.Logger = testLogger(t)
			if m, err := Start(c.cfg); err == nil {
				m.Shutdown()
				t.Fatalf("Start(%+v) succeeded", c.cfg)
			}
		})
	}
}

func TestSubscriptionsCloseOnShutdown(t *testing.T) {
	a := startNode(t, testLogger(t), "node-a")
	changes, cancel := a.Subscribe()
	defer cancel()
	if err := a.Shutdown(); err != nil {
		t.Fatal(err)
	}
	for range changes { // drains, then ends when closed
	}
	if _, ok := <-mustSubscribe(a); ok {
		t.Fatal("subscription after Shutdown is open")
	}
	if err := a.Shutdown(); err != nil {
		t.Fatalf("second Shutdown: %v", err)
	}
	if err := a.Leave(time.Second); !errors.Is(err, ErrClosed) {
		t.Fatalf("Leave after Shutdown: %v, want ErrClosed", err)
	}
}

func mustSubscribe(m *Membership) <-chan struct{} {
	ch, _ := m.Subscribe()
	return ch
}

// A slow subscriber must not hold up memberlist: changes pile up in one
// token, and the member list is current when it finally looks.
func TestSlowSubscriberDoesNotBlockGossip(t *testing.T) {
	log := testLogger(t)
	a := startNode(t, log, "node-a")
	stalled, cancel := a.Subscribe() // never read until the end
	defer cancel()
	for i := range 4 {
		startNode(t, log, fmt.Sprintf("node-%d", i), a.Local().Addr)
	}
	waitFor(t, a, "sees all five", func(ms []Member) bool { return len(ms) == 5 })
	if len(stalled) != 1 {
		t.Fatalf("stalled subscriber holds %d tokens, want 1", len(stalled))
	}
}

// Every member is reached by the probes; one that stops answering is not,
// long before memberlist declares it dead.
func TestReachableCountsMembersHeardFromRecently(t *testing.T) {
	a, _, c := startThree(t)
	if n := a.Reachable(time.Second); n != 2 {
		t.Fatalf("Reachable = %d, want 2", n)
	}
	// One that does not answer drops out once its last ack is older than
	// the window, while memberlist still lists it (suspected, not dead).
	if err := c.Shutdown(); err != nil {
		t.Fatal(err)
	}
	stopped := time.Now()
	for a.Reachable(500*time.Millisecond) != 1 {
		if time.Since(stopped) > 10*time.Second {
			t.Fatalf("Reachable still %d", a.Reachable(500*time.Millisecond))
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Logf("unreachable after %v; still a member: %v", time.Since(stopped).Round(time.Millisecond), len(a.Members()) == 3)
}
