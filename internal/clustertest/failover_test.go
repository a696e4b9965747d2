package clustertest_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"focal/api"
	"focal/bench/bridgesim"
	"focal/internal/clustertest"
	"focal/internal/testclient"
	"focal/media/sources"
	"focal/xmpp"
)

type bridgeStatus = bridgesim.Status

// pair is one conference of two participants.
type pair struct {
	room       string
	alice, bob *participant
}

type participant struct {
	c     *testclient.Client
	media *testclient.Media
	nick  string
}

func joinPair(ctx context.Context, t testing.TB, c *clustertest.Cluster, room string) pair {
	t.Helper()
	p := pair{room: room}
	for _, nick := range []string{"alice", "bob"} {
		cl, err := c.Client(ctx)
		if err != nil {
			t.Fatal(err)
		}
		m := &participant{c: cl, media: testclient.NewMedia(cl, testclient.MediaOptions{Nick: nick}), nick: nick}
		if _, err := cl.RequestConference(ctx, c.Component(), xmpp.ConferenceIQ{Room: room}); err != nil {
			t.Fatalf("%s %s: conference request: %v", room, nick, err)
		}
		if _, err := cl.Join(ctx, room, nick); err != nil {
			t.Fatalf("%s %s: join: %v", room, nick, err)
		}
		if nick == "alice" {
			p.alice = m
		} else {
			p.bob = m
		}
	}
	for _, m := range []*participant{p.alice, p.bob} {
		if _, err := m.media.AwaitSession(ctx); err != nil {
			t.Fatalf("%s %s: no session: %v", room, m.nick, err)
		}
		if err := m.media.AwaitAccepted(ctx); err != nil {
			t.Fatalf("%s %s: accept: %v", room, m.nick, err)
		}
	}
	for _, ssrc := range p.alice.media.SSRCs() {
		if err := p.bob.media.AwaitRemoteSSRC(ctx, ssrc); err != nil {
			t.Fatalf("%s: bob never got alice's sources: %v", room, err)
		}
	}
	return p
}

// startPairs starts a cluster, waits until its first `members` nodes
// form it, and runs n conferences of two, named prefix-NN. The context
// bounds the whole test.
func startPairs(t *testing.T, opts clustertest.Options, members, n int, prefix string) (*clustertest.Cluster, context.Context, []pair) {
	t.Helper()
	c := clustertest.Start(t, opts)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	t.Cleanup(cancel)
	if err := c.WaitCluster(ctx, members); err != nil {
		t.Fatal(err)
	}
	pairs := make([]pair, n)
	for i := range pairs {
		pairs[i] = joinPair(ctx, t, c, c.Room(fmt.Sprintf("%s-%02d", prefix, i)))
	}
	return c, ctx, pairs
}

// busiest is the node that drives the most conferences, other than the
// node named except, with the rooms it drives and the cluster view read.
func busiest(ctx context.Context, t *testing.T, c *clustertest.Cluster, except string) (*clustertest.Node, []string, api.ClusterView) {
	t.Helper()
	holder, err := c.ComponentHolder(ctx)
	if err != nil {
		t.Fatal(err)
	}
	view, err := holder.Cluster(ctx)
	if err != nil {
		t.Fatal(err)
	}
	name, owned := "", []string(nil)
	for _, m := range view.Members {
		if m.Name != except && len(m.Rooms) > len(owned) {
			name, owned = m.Name, m.Rooms
		}
	}
	for _, n := range c.Nodes() {
		if n.Name() == name {
			return n, owned, view
		}
	}
	t.Fatalf("no node but %q drives a conference: %+v", except, view)
	return nil, nil, view
}

// received records how many stanzas each participant has had so far, so
// that checks can look at what came after.
func received(pairs []pair) map[string][2]int {
	seen := map[string][2]int{}
	for _, p := range pairs {
		seen[p.room] = [2]int{len(p.alice.c.Received()), len(p.bob.c.Received())}
	}
	return seen
}

// newSource is a video source of alice's that the conference has not seen.
func newSource(ssrc int64, tag string) sources.Set {
	return sources.Set{Sources: []sources.Source{{SSRC: ssrc, Media: sources.Video, Name: "alice-" + tag, MSID: fmt.Sprintf("%s-%d v", tag, ssrc), VideoType: sources.VideoDesktop}}}
}

// addSource has alice signal a new source (again if the first attempts
// race a handover, see sourceAddSoon) and waits until bob has it: the
// conference is driven, and fans out.
func (p pair) addSource(ctx context.Context, t *testing.T, ssrc int64, tag, when string) {
	t.Helper()
	if err := sourceAddSoon(ctx, p.alice, newSource(ssrc, tag)); err != nil {
		t.Fatalf("%s: source-add %s: %v", p.room, when, err)
	}
	if err := p.bob.media.AwaitRemoteSSRC(ctx, ssrc); err != nil {
		t.Fatalf("%s: bob never got the source added %s: %v", p.room, when, err)
	}
}

// checkUndisturbed checks what participants saw since seen: no presence of
// the focus at all (its session moved by resumption), and still their
// first Jingle session each.
func checkUndisturbed(t *testing.T, pairs []pair, seen map[string][2]int) {
	t.Helper()
	for _, p := range pairs {
		if n := focusPresences(p.alice, p.room, seen[p.room][0]) + focusPresences(p.bob, p.room, seen[p.room][1]); n > 0 {
			t.Errorf("%s: participants saw %d presences of the focus", p.room, n)
		}
		if p.alice.media.Sessions() != 1 || p.bob.media.Sessions() != 1 {
			t.Errorf("%s: sessions re-initiated: alice %d, bob %d", p.room, p.alice.media.Sessions(), p.bob.media.Sessions())
		}
	}
}

// checkBridgeKept checks the bridge created no conference and no endpoint
// since before.
func checkBridgeKept(ctx context.Context, t *testing.T, c *clustertest.Cluster, before bridgeStatus) {
	t.Helper()
	after, err := c.Bridge(0).Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if after.Counters.ConferencesCreated != before.Counters.ConferencesCreated || after.Counters.EndpointsCreated != before.Counters.EndpointsCreated {
		t.Errorf("bridge re-created media: %+v before, %+v after", before.Counters, after.Counters)
	}
}

// sourceAddSoon sends a source-add, again if the first attempts fail: an
// IQ that reaches the focus occupant's previous session while Prosody has
// not yet processed that session's leave is answered item-not-found by the
// node that let the conference go (or lost with it), as it would be for any
// client in that window.
func sourceAddSoon(ctx context.Context, m *participant, add sources.Set) error {
	var err error
	for range 3 {
		actx, cancel := context.WithTimeout(ctx, 3*time.Second)
		err = m.media.SendSourceAdd(actx, add)
		cancel()
		if err == nil {
			return nil
		}
	}
	return err
}

// focusPresences counts the presences of the focus occupant the
// participant received after its first `after` stanzas: with the focus's
// session resumed by the next owner there is none, not even an update.
func focusPresences(m *participant, room string, after int) int {
	n := 0
	for _, el := range m.c.Received()[after:] {
		if p, ok := xmpp.ParseOccupantPresence(el); ok && p.Room == room && p.Nick == "focus" {
			n++
		}
	}
	return n
}

func TestOwnerKilledConferencesCarryOn(t *testing.T) {
	ownerGoes(t, "killed", (*clustertest.Node).Kill)
}

// A SIGTERMed node drains: each conference it drives is handed over to its
// next owner before it leaves, with nothing visible to participants.
func TestOwnerTerminatedHandsConferencesOver(t *testing.T) {
	ownerGoes(t, "terminated", (*clustertest.Node).Term)
}

// A node joining takes over the conferences it now ranks first for, with
// nothing visible to participants.
func TestJoiningNodeTakesItsShare(t *testing.T) {
	const conferences = 12
	c, ctx, pairs := startPairs(t, clustertest.Options{Nodes: 3, Bridges: 1, StartOrder: []int{0, 1}}, 2, conferences, "share")
	seen := received(pairs)
	before, err := c.Bridge(0).Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	newcomer := c.Node(2)
	started := time.Now()
	if err := newcomer.Start(); err != nil {
		t.Fatal(err)
	}
	if err := c.WaitCluster(ctx, 3); err != nil {
		t.Fatal(err)
	}
	// Wait until the newcomer drives its share.
	var mine []string
	for {
		v, err := newcomer.Cluster(ctx)
		if err != nil {
			t.Fatal(err)
		}
		total := 0
		for _, m := range v.Members {
			total += len(m.Rooms)
			if m.Name == newcomer.Name() {
				mine = m.Rooms
			}
		}
		if total == conferences && len(mine) > 0 {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatalf("newcomer never took its share: %+v", v)
		case <-time.After(50 * time.Millisecond):
		}
	}
	t.Logf("%s drives %d of %d conferences %v after it started", newcomer.Name(), len(mine), conferences, time.Since(started).Round(time.Millisecond))
	// Its debug view says so too, with the session it resumed.
	snaps, err := newcomer.Conferences(ctx)
	if err != nil {
		t.Fatal(err)
	}
	missing := slices.Clone(mine)
	for _, s := range snaps {
		if s.Standby {
			continue
		}
		if s.Node != newcomer.Name() || s.Focus == "" || !s.Joined || len(s.Participants) != 2 || len(s.Bridges) != 1 {
			t.Errorf("/debug/conferences on %s: %+v", newcomer.Name(), s)
		}
		missing = slices.DeleteFunc(missing, func(r string) bool { return r == s.Room })
	}
	if len(missing) != 0 {
		t.Errorf("/debug/conferences on %s lacks %v", newcomer.Name(), missing)
	}
	for i, p := range pairs {
		if !slices.Contains(mine, p.room) {
			continue
		}
		p.addSource(ctx, t, int64(800000+i), "share", "after the handover")
	}
	checkBridgeKept(ctx, t, c, before)
	checkUndisturbed(t, pairs, seen)
}

// ownerGoes runs conferences of two on three nodes, makes the node that
// drives the most of them go (how), and checks every one of them carries
// on: a new source is fanned out and reaches the bridge, the bridge keeps
// its conferences and endpoints, no participant sees the focus leave or a
// new Jingle session.
func ownerGoes(t *testing.T, what string, how func(*clustertest.Node) error) {
	const conferences = 30
	c, ctx, pairs := startPairs(t, clustertest.Options{Nodes: 3, Bridges: 1}, 3, conferences, "failover")

	// Kill the node that drives the most of them.
	node, owned, view := busiest(ctx, t, c, "")
	victim := node.Name()
	// The conferences it stood by for: their owners hold what they send
	// until placement names another replica.
	var replicated []string
	for _, m := range view.Members {
		if m.Name == victim {
			replicated = m.Standby
		}
	}
	before, err := c.Bridge(0).Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	seen := received(pairs)

	killed := time.Now()
	if err := how(node); err != nil {
		t.Fatal(err)
	}
	t.Logf("%s %s (returned after %v), which drove %d of %d conferences", what, victim, time.Since(killed).Round(time.Millisecond), len(owned), conferences)

	// In every affected conference, a new source of alice's reaches bob
	// (fan-out by the new owner) and the bridge (Colibri2 update).
	var mu sync.Mutex
	served := map[string]time.Duration{}
	var wg sync.WaitGroup
	for i, p := range pairs {
		if !slices.Contains(owned, p.room) && !slices.Contains(replicated, p.room) {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Sent at once: until the next owner resumes the focus's
			// session, Prosody queues it there, then redelivers it.
			ssrc := int64(900000 + i)
			if err := p.alice.media.SendSourceAdd(ctx, newSource(ssrc, "screen")); err != nil {
				t.Errorf("%s: source-add after the kill: %v", p.room, err)
				return
			}
			if err := p.bob.media.AwaitRemoteSSRC(ctx, ssrc); err != nil {
				t.Errorf("%s: bob never got the new source: %v", p.room, err)
				return
			}
			mu.Lock()
			served[p.room] = time.Since(killed)
			mu.Unlock()
		}()
	}
	wg.Wait()
	var worst, worstReplicated time.Duration
	for room, d := range served {
		if slices.Contains(replicated, room) {
			t.Logf("%s (its replica on %s) served %v after the node was %s", room, victim, d.Round(time.Millisecond), what)
			worstReplicated = max(worstReplicated, d)
			continue
		}
		t.Logf("%s served again %v after the node was %s", room, d.Round(time.Millisecond), what)
		worst = max(worst, d)
	}
	t.Logf("every affected conference served again within %v of the node being %s; the %d whose replica it was, within %v",
		worst.Round(time.Millisecond), what, len(replicated), worstReplicated.Round(time.Millisecond))

	// The new sources reach the bridge's endpoints.
	total := func(st map[string]int) int {
		n := 0
		for _, v := range st {
			n += v
		}
		return n
	}
	var after bridgeStatus
	for {
		if after, err = c.Bridge(0).Status(ctx); err != nil {
			t.Fatal(err)
		}
		if total(after.Sources) >= total(before.Sources)+len(owned) {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatalf("bridge sources %d, want %d", total(after.Sources), total(before.Sources)+len(owned))
		case <-time.After(50 * time.Millisecond):
		}
	}
	checkBridgeKept(ctx, t, c, before)
	checkUndisturbed(t, pairs, seen)
}

// A rolling restart (each node in turn drained with SIGTERM and started
// again) keeps every conference: each one works at the end, on the same
// bridge conference and Jingle sessions, and no participant saw a presence
// of the focus.
func TestRollingRestartKeepsEveryConference(t *testing.T) {
	const conferences = 12
	c, ctx, pairs := startPairs(t, clustertest.Options{Nodes: 3, Bridges: 1}, 3, conferences, "rolling")
	seen := received(pairs)
	before, err := c.Bridge(0).Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	allDriven := func(what string) {
		t.Helper()
		for {
			d, err := drivers(ctx, c)
			if err == nil && len(d) == conferences {
				once := true
				for _, nodes := range d {
					once = once && len(nodes) == 1
				}
				if once {
					return
				}
			}
			select {
			case <-ctx.Done():
				t.Fatalf("%s: drivers %v (%v)", what, d, err)
			case <-time.After(50 * time.Millisecond):
			}
		}
	}
	started := time.Now()
	for _, n := range c.Nodes() {
		if err := n.Term(); err != nil {
			t.Fatalf("terminate %s: %v", n.Name(), err)
		}
		allDriven(n.Name() + " drained")
		if err := n.Start(); err != nil {
			t.Fatalf("start %s again: %v", n.Name(), err)
		}
		if err := c.WaitCluster(ctx, 3); err != nil {
			t.Fatal(err)
		}
		allDriven(n.Name() + " back")
	}
	t.Logf("rolling restart of %d nodes with %d conferences took %v", len(c.Nodes()), conferences, time.Since(started).Round(time.Millisecond))

	for i, p := range pairs {
		p.addSource(ctx, t, int64(500000+i), "roll", "after the rolling restart")
	}
	checkBridgeKept(ctx, t, c, before)
	checkUndisturbed(t, pairs, seen)
}
