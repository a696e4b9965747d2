package clustertest_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"testing"
	"time"

	"focal/internal/clustertest"
	"focal/internal/testclient"
	"focal/xmpp"
)

func TestMain(m *testing.M) { os.Exit(clustertest.Main(m)) }

// Bounds the test asserts; the measured times are logged.
const (
	// deathSeen: a SIGKILLed node is gone from every other node's /cluster.
	deathSeen = 5 * time.Second
	// componentTakeover: after SIGKILL of the component holder, another
	// node holds the component (node.ClusterComponentBackoff bounds the
	// redial).
	componentTakeover = 2 * time.Second
	// servedAgain: after SIGKILL of the component holder, a conference
	// request is answered ready again. When the dead node also owned the
	// room, this includes failure detection (~1 s): until then the request
	// is forwarded to it.
	servedAgain = 5 * time.Second
	// leaveSeen: a node stopped with SIGTERM leaves the cluster at once.
	leaveSeen = 2 * time.Second
)

// Three node processes started in the reverse of their --join order form one
// cluster; a SIGKILLed node drops out of the others' view; one node at a
// time holds the focus component, and when it is SIGKILLed another takes
// over and requests are answered again; a restarted node rejoins; SIGTERM
// makes a node leave at once and exit 0.
func TestClusterFormsSurvivesKillsAndMovesTheComponent(t *testing.T) {
	c := clustertest.Start(t, clustertest.Options{Nodes: 3, Bridges: 1, StartOrder: []int{2, 1, 0}})
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	formed := time.Now()
	if err := c.WaitCluster(ctx, 3); err != nil {
		t.Fatal(err)
	}
	t.Logf("every node saw 3 members %v after the last node was healthy", time.Since(formed).Round(time.Millisecond))
	checkViews(ctx, t, c)

	holder, err := c.ComponentHolder(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%s holds the component", holder.Name())
	alice, err := c.Client(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if res, err := alice.RequestConference(ctx, c.Component(), xmpp.ConferenceIQ{Room: c.Room("first")}); err != nil || !res.Ready {
		t.Fatalf("conference request: %+v, %v", res, err)
	}
	// Exactly one node drives the room: its owner, whichever node took the
	// request.
	v, err := holder.Cluster(ctx)
	if err != nil {
		t.Fatal(err)
	}
	out, _ := json.Marshal(v)
	t.Logf("%s GET /cluster: %s", holder.Name(), out)
	var drivers []string
	for _, m := range v.Members {
		if slices.Contains(m.Rooms, c.Room("first")) {
			drivers = append(drivers, m.Name)
		}
	}
	if len(drivers) != 1 {
		t.Errorf("%s driven by %v, want exactly one node", c.Room("first"), drivers)
	}

	// A node that does not hold the component dies.
	victim := c.Node(0)
	if victim == holder {
		victim = c.Node(1)
	}
	if err := victim.Kill(); err != nil {
		t.Fatal(err)
	}
	killed := time.Now()
	if err := waitWithout(ctx, c, victim.Name(), 2, deathSeen); err != nil {
		t.Fatalf("after SIGKILL of %s: %v", victim.Name(), err)
	}
	t.Logf("SIGKILLed %s gone from every other node's /cluster after %v", victim.Name(), time.Since(killed).Round(time.Millisecond))

	// It comes back under the same name and addresses.
	if err := victim.Restart(); err != nil {
		t.Fatal(err)
	}
	restarted := time.Now()
	if err := c.WaitCluster(ctx, 3); err != nil {
		t.Fatalf("after restart of %s: %v", victim.Name(), err)
	}
	t.Logf("restarted %s back in every node's /cluster %v after it was healthy", victim.Name(), time.Since(restarted).Round(time.Millisecond))
	checkViews(ctx, t, c)

	// The component holder dies: another node takes the component over and
	// requests are answered again.
	if err := holder.Kill(); err != nil {
		t.Fatal(err)
	}
	killed = time.Now()
	newHolder, err := c.ComponentHolder(ctx)
	if err != nil {
		t.Fatal(err)
	}
	takeover := time.Since(killed)
	served := awaitServed(ctx, t, c, alice, c.Room("failover"), killed)
	t.Logf("SIGKILL of component holder %s: %s took the component over after %v, a request was answered ready %v after the kill",
		holder.Name(), newHolder.Name(), takeover.Round(time.Millisecond), served.Round(time.Millisecond))
	if takeover > componentTakeover {
		t.Errorf("component taken over %v after the holder's SIGKILL, want within %v", takeover, componentTakeover)
	}
	if served > servedAgain {
		t.Errorf("request answered %v after the holder's SIGKILL, want within %v", served, servedAgain)
	}
	if err := waitWithout(ctx, c, holder.Name(), 2, deathSeen); err != nil {
		t.Fatalf("after SIGKILL of %s: %v", holder.Name(), err)
	}
	t.Logf("SIGKILLed %s gone from every other node's /cluster after %v", holder.Name(), time.Since(killed).Round(time.Millisecond))

	// SIGTERM: the node leaves at once (no failure detection) and exits 0.
	var leaver *clustertest.Node
	for _, n := range c.Running() {
		if n != newHolder {
			leaver = n
		}
	}
	termed := time.Now()
	termErr := make(chan error, 1)
	go func() { termErr <- leaver.Term() }()
	if err := waitWithout(ctx, c, leaver.Name(), 1, leaveSeen); err != nil {
		t.Fatalf("after SIGTERM of %s: %v", leaver.Name(), err)
	}
	left := time.Since(termed)
	if err := <-termErr; err != nil {
		t.Fatal(err)
	}
	// A race-detector build sleeps a second before it exits (GORACE
	// atexit_sleep_ms), which the exit time includes.
	t.Logf("SIGTERM of %s: gone from the other's /cluster after %v, exited 0 after %v", leaver.Name(), left.Round(time.Millisecond), time.Since(termed).Round(time.Millisecond))
	// One node of three is a minority: it drives nothing (the partition
	// rule: without a strict majority of the configured cluster, no node
	// drives a conference), and says so.
	_, err = alice.RequestConference(ctx, c.Component(), xmpp.ConferenceIQ{Room: c.Room("last")})
	if xmpp.ConditionOf(err) != xmpp.ServiceUnavailable {
		t.Fatalf("conference request on a lone node of three: %v, want service-unavailable", err)
	}
}

// checkViews checks that every running node's full /cluster names it as
// self and lists every running node with the addresses it was given and
// the room lists its directory answered over remote.
func checkViews(ctx context.Context, t *testing.T, c *clustertest.Cluster) {
	t.Helper()
	running := c.Running()
	var want []string
	for _, n := range running {
		want = append(want, n.Name())
	}
	slices.Sort(want)
	for _, n := range running {
		v, err := n.Cluster(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if v.Self != n.Name() {
			t.Errorf("%s: self = %q", n.Name(), v.Self)
		}
		if got := clustertest.MemberNames(v); !slices.Equal(got, want) {
			t.Errorf("%s: members %v, want %v", n.Name(), got, want)
		}
		for _, m := range v.Members {
			for _, o := range running {
				if o.Name() == m.Name && (m.Addr != o.Gossip() || m.Remote != o.Remote() || m.HTTP != o.HTTP() || m.Draining) {
					t.Errorf("%s: member %+v, want gossip %s remote %s http %s", n.Name(), m, o.Gossip(), o.Remote(), o.HTTP())
				}
			}
			if m.Error != "" {
				t.Errorf("%s: no room list from %s: %s", n.Name(), m.Name, m.Error)
			}
		}
	}
}

// waitWithout waits until every running node sees n members, none of them
// gone, for at most within.
func waitWithout(ctx context.Context, c *clustertest.Cluster, gone string, n int, within time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, within)
	defer cancel()
	if err := c.WaitCluster(ctx, n); err != nil {
		return err
	}
	v, err := c.Running()[0].Members(ctx)
	if err != nil {
		return err
	}
	if slices.Contains(clustertest.MemberNames(v), gone) {
		return fmt.Errorf("%s still listed: %v", gone, clustertest.MemberNames(v))
	}
	return nil
}

// awaitServed sends conference requests for room, each bounded to a
// second, until one is answered ready; it returns the time since since.
func awaitServed(ctx context.Context, t *testing.T, c *clustertest.Cluster, cl *testclient.Client, room string, since time.Time) time.Duration {
	t.Helper()
	var lastErr error
	for attempt := 1; ; attempt++ {
		actx, cancel := context.WithTimeout(ctx, time.Second)
		res, err := cl.RequestConference(actx, c.Component(), xmpp.ConferenceIQ{Room: room})
		cancel()
		if err == nil && res.Ready {
			t.Logf("request answered on attempt %d", attempt)
			return time.Since(since)
		}
		lastErr = err
		select {
		case <-ctx.Done():
			t.Fatalf("no ready answer for %s: last error %v", room, lastErr)
		case <-time.After(50 * time.Millisecond):
		}
	}
}
