package clustertest_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"focal/cluster"
	"focal/internal/clustertest"
	"focal/internal/testclient"
	"focal/xmpp"
)

// retryInterval is how long lib-jitsi-meet waits before it asks again
// after a ready='false' answer (its first backoff step).
const retryInterval = time.Second

// askUntilReady sends conference requests for room as lib-jitsi-meet does:
// again after ready='false', given up (failing the test) at any error,
// which lib-jitsi-meet treats as fatal. It returns how many times it was
// asked to retry.
func askUntilReady(ctx context.Context, t *testing.T, c *clustertest.Cluster, cl *testclient.Client, room string) int {
	t.Helper()
	for retries := 0; ; retries++ {
		res, err := cl.RequestConference(ctx, c.Component(), xmpp.ConferenceIQ{Room: room})
		if err != nil {
			t.Fatalf("%s: conference request answered with an error, fatal to lib-jitsi-meet: %v", room, err)
		}
		if res.Ready {
			return retries
		}
		select {
		case <-time.After(retryInterval):
		case <-ctx.Done():
			t.Fatalf("%s: still not ready after %d retries: %v", room, retries, ctx.Err())
		}
	}
}

// A participant joining right after the owner of its conference was
// killed, and one starting a new conference on a shard that node owned,
// are asked to retry (never given an error, never held on the dead node)
// and are in session once the survivors drive the shard; the new
// participant's sources reach the others.
func TestNewcomersJoinDuringFailover(t *testing.T) {
	const conferences = 12
	c, ctx, pairs := startPairs(t, clustertest.Options{Nodes: 3, Bridges: 1}, 3, conferences, "newcomer")

	// The victim drives conferences and does not hold the component, so
	// that requests keep reaching a focus.
	holder, err := c.ComponentHolder(ctx)
	if err != nil {
		t.Fatal(err)
	}
	victim, owned, view := busiest(ctx, t, c, holder.Name())
	var joined pair
	for _, p := range pairs {
		if p.room == owned[0] {
			joined = p
		}
	}
	// A room nobody asked for yet, on a shard the victim owns.
	members := make([]cluster.Member, 0, len(view.Members))
	for _, m := range view.Members {
		members = append(members, cluster.Member{Name: m.Name})
	}
	fresh := ""
	for i := 0; fresh == ""; i++ {
		room := c.Room(fmt.Sprintf("fresh-%03d", i))
		if owner, _ := cluster.Owner(cluster.ShardKey(cluster.Shard(room, cluster.DefaultShards)), members); owner.Name == victim.Name() {
			fresh = room
		}
	}

	newcomers := map[string]*participant{}
	for _, room := range []string{joined.room, fresh} {
		cl, err := c.Client(ctx)
		if err != nil {
			t.Fatal(err)
		}
		newcomers[room] = &participant{c: cl, media: testclient.NewMedia(cl, testclient.MediaOptions{Nick: "carol"}), nick: "carol"}
	}
	dave, err := c.Client(ctx)
	if err != nil {
		t.Fatal(err)
	}
	daveMedia := testclient.NewMedia(dave, testclient.MediaOptions{Nick: "dave"})

	killed := time.Now()
	if err := victim.Kill(); err != nil {
		t.Fatal(err)
	}
	type outcome struct {
		room    string
		retries int
		ready   time.Duration
	}
	done := make(chan outcome, 2)
	for room, m := range newcomers {
		go func() {
			retries := askUntilReady(ctx, t, c, m.c, room)
			done <- outcome{room, retries, time.Since(killed)}
		}()
	}
	for range newcomers {
		o := <-done
		t.Logf("%s: ready %v after the kill, %d retries asked", o.room, o.ready.Round(time.Millisecond), o.retries)
	}
	// Into the rooms: the newcomer to the live conference gets a session
	// with the two already there; the new conference gets a second
	// participant.
	for room, m := range newcomers {
		if _, err := m.c.Join(ctx, room, m.nick); err != nil {
			t.Fatalf("%s: join: %v", room, err)
		}
	}
	if retries := askUntilReady(ctx, t, c, dave, fresh); retries != 0 {
		t.Errorf("%s: a request after the failover was asked to retry %d times", fresh, retries)
	}
	if _, err := dave.Join(ctx, fresh, "dave"); err != nil {
		t.Fatalf("%s: dave's join: %v", fresh, err)
	}
	for room, m := range newcomers {
		if _, err := m.media.AwaitSession(ctx); err != nil {
			t.Fatalf("%s: carol has no session: %v", room, err)
		}
		if err := m.media.AwaitAccepted(ctx); err != nil {
			t.Fatalf("%s: carol's accept: %v", room, err)
		}
		t.Logf("%s: carol in session %v after the kill", room, time.Since(killed).Round(time.Millisecond))
	}
	if _, err := daveMedia.AwaitSession(ctx); err != nil {
		t.Fatalf("%s: dave has no session: %v", fresh, err)
	}
	carol := newcomers[joined.room]
	for _, other := range []*participant{joined.alice, joined.bob} {
		for _, ssrc := range carol.media.SSRCs() {
			if err := other.media.AwaitRemoteSSRC(ctx, ssrc); err != nil {
				t.Fatalf("%s: %s never got carol's sources: %v", joined.room, other.nick, err)
			}
		}
	}
}
