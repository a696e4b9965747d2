package clustertest_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"focal/internal/clustertest"
)

// The fault scenarios of the cluster-correctness issue, each judged from
// outside by judgeFault (see judge_test.go): partitions of node1 (both
// ways, one way in each direction, flapping, and from node3 alone) with
// nftables on loopback, a stall (SIGSTOP, SIGCONT), and node1 going for
// good (SIGKILL, SIGTERM).

// node1 is cut off from the others both ways.
//
// Requests sent in the seconds before conferences went back to node1 after
// the heal were once never answered (22 of two conferences in a run of the
// whole suite; 18 in a run where the handover went over an actor link that
// had not come back: README, cluster design, rule 1).
func TestFaultPartitionBothWays(t *testing.T) { judgePartition(t, "cut", cutBoth) }

// Packets into node1's gossip, remote and liveness ports are dropped: the others
// cannot reach it, but it reaches them (and connections it opens work).
//
// When the conferences went back to node1 after the heal, a Colibri2 request of the
// node that drove them meanwhile reached the bridge after node1's, with a
// source sent twice (2 of 3 runs on a quiet machine), until a release
// waited for the server to read the node's own stream; since 2026-12-07
// Colibri2 leaves on the shard session, which orders it by itself.
// And node1 gave the requests it read on letting go to conferences that
// were stopping, and released its sessions past them: nobody answered
// them (3–5 in 3 of 9 runs under load), until they were held and passed
// on behind the final state.
func TestFaultPartitionInbound(t *testing.T) { judgePartition(t, "cutin", cutIn) }

// Packets from node1 to the others' gossip, remote and liveness ports are dropped:
// it cannot reach them, but they reach it (and connections they open work).
//
// The others place conferences without node1 once it has sent them nothing
// for memberlist's failure timeout, though their TCP fallback probes keep
// it a member, so its conferences move while the cut lasts (3.7–6 s
// without service in the runs load did not dominate, against 11–13 s when
// they waited for the heal); and a node hands a session on only once
// Prosody has read all it wrote, which ended the "not-well-formed"
// sessions.
func TestFaultPartitionOutbound(t *testing.T) { judgePartition(t, "cutout", cutOut) }

// node1 and node3 are cut off from each other, both ways, and each still
// reaches node2: each keeps a majority, and neither may take the other's
// conferences over, nor does (node2 still hears the holder). Each places
// conferences without the other once it went unheard (rule 5), so a
// conference replicated to the other gets a new replica. Midway, each is
// asked, over HTTP, for the conferences the other drives (a participant
// joining through it): the answer must not start a second conference.
func TestFaultPartitionPartial(t *testing.T) {
	needFirewall(t)
	judgeFault(t, "partial", clustertest.Options{UIDs: map[int]uint32{0: cutUID, 2: cutUID2}}, func(ctx context.Context, t *testing.T, c *clustertest.Cluster, victim *clustertest.Node) (time.Time, time.Time) {
		began := time.Now()
		other := c.Node(2)
		heal := cutBetween(t, victim, other)
		t.Logf("%s and %s cut off from each other", victim.Name(), other.Name())
		hold(ctx, t, faultLength/2)
		askAcross(ctx, t, c, victim, other)
		hold(ctx, t, time.Until(began.Add(faultLength)))
		heal()
		return began, time.Now()
	})
}

// askAcross asks a, over HTTP, for the conferences b drives and b for a's,
// then checks that every conference still has exactly one driver.
func askAcross(ctx context.Context, t *testing.T, c *clustertest.Cluster, a, b *clustertest.Node) {
	t.Helper()
	before, err := drivers(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	type answer struct {
		via, room, body string
		status          int
		took            time.Duration
	}
	answers := make(chan answer)
	asked := 0
	for room, nodes := range before {
		var via *clustertest.Node
		switch {
		case slices.Equal(nodes, []string{a.Name()}):
			via = b
		case slices.Equal(nodes, []string{b.Name()}):
			via = a
		default:
			continue
		}
		asked++
		go func() {
			start := time.Now()
			status, body := conferenceRequest(ctx, via, room)
			answers <- answer{via.Name(), room, body, status, time.Since(start)}
		}()
	}
	retry := 0
	for range asked {
		a := <-answers
		t.Logf("%s asked for %s: %d %s after %v", a.via, a.room, a.status, a.body, a.took.Round(time.Millisecond))
		switch {
		case a.status != http.StatusOK:
			t.Errorf("%s asked for %s across the cut: %d %s; want an answer a client can act on", a.via, a.room, a.status, a.body)
		case strings.Contains(a.body, `"ready":false`):
			retry++
		}
	}
	t.Logf("asked %d conferences across the cut: %d told to retry (ready='false'), the others ready", asked, retry)
	after, err := drivers(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	for room, nodes := range after {
		if len(nodes) != 1 {
			t.Errorf("%s driven by %v after the requests across the cut (before: %v)", room, nodes, before[room])
		}
	}
}

// conferenceRequest posts a conference request for room to n's HTTP API;
// a request that fails is status 0 with the error.
func conferenceRequest(ctx context.Context, n *clustertest.Node, room string) (int, string) {
	body := fmt.Sprintf(`{"room":%q}`, room)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+n.HTTP()+"/conference-request/v1", strings.NewReader(body))
	if err != nil {
		return 0, err.Error()
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	return resp.StatusCode, strings.TrimSpace(string(out))
}

// The partition comes and goes every second for 10 s.
func TestFaultPartitionFlapping(t *testing.T) {
	needFirewall(t)
	judgeFault(t, "flap", clustertest.Options{UIDs: map[int]uint32{0: cutUID}}, func(ctx context.Context, t *testing.T, c *clustertest.Cluster, victim *clustertest.Node) (time.Time, time.Time) {
		began := time.Now()
		for range int(faultLength / (2 * time.Second)) {
			heal := partition(t, c, victim, cutBoth)
			hold(ctx, t, time.Second)
			heal()
			hold(ctx, t, time.Second)
		}
		return began, time.Now()
	})
}

// node1 stops (SIGSTOP) for 10 s, long enough for its conferences to move,
// then goes on (SIGCONT) as if nothing happened, as after a long GC pause
// or a frozen VM.
func TestFaultStall(t *testing.T) {
	judgeFault(t, "stall", clustertest.Options{}, func(ctx context.Context, t *testing.T, c *clustertest.Cluster, victim *clustertest.Node) (time.Time, time.Time) {
		began := time.Now()
		if err := victim.Pause(); err != nil {
			t.Fatal(err)
		}
		hold(ctx, t, faultLength)
		if err := victim.Continue(); err != nil {
			t.Fatal(err)
		}
		return began, time.Now()
	})
}

func TestFaultKill(t *testing.T) {
	judgeFault(t, "kill", clustertest.Options{}, func(ctx context.Context, t *testing.T, c *clustertest.Cluster, victim *clustertest.Node) (time.Time, time.Time) {
		began := time.Now()
		if err := victim.Kill(); err != nil {
			t.Fatal(err)
		}
		return began, began
	})
}

func TestFaultTerm(t *testing.T) {
	judgeFault(t, "term", clustertest.Options{}, func(ctx context.Context, t *testing.T, c *clustertest.Cluster, victim *clustertest.Node) (time.Time, time.Time) {
		began := time.Now()
		if err := victim.Term(); err != nil {
			t.Fatal(err)
		}
		return began, began
	})
}

// judgePartition cuts node1 off (way) for 10 s, then heals.
func judgePartition(t *testing.T, name string, way cut) {
	needFirewall(t)
	judgeFault(t, name, clustertest.Options{UIDs: map[int]uint32{0: cutUID}}, func(ctx context.Context, t *testing.T, c *clustertest.Cluster, victim *clustertest.Node) (time.Time, time.Time) {
		began := time.Now()
		heal := partition(t, c, victim, way)
		t.Logf("%s cut off (%v)", victim.Name(), way)
		hold(ctx, t, faultLength)
		heal()
		return began, time.Now()
	})
}

// hold lets a fault last for d: the scenario's length, not a wait for an
// event.
func hold(ctx context.Context, t *testing.T, d time.Duration) {
	t.Helper()
	select {
	case <-ctx.Done():
		t.Fatal(ctx.Err())
	case <-time.After(d):
	}
}
