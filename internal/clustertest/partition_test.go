package clustertest_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"focal/internal/clustertest"
)

// cutUID is the user the node to be cut off runs as, so that its own
// packets can be told apart on loopback.
const cutUID = 65534

// cutUID2 is the user of a second node to cut off (cutBetween).
const cutUID2 = 65533

// needFirewall fails the test without root or nft: partition tests are
// part of the suite, and .ci/run has both.
func needFirewall(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Fatalf("partition test needs root for nftables (euid %d)", os.Geteuid())
	}
	if _, err := exec.LookPath("nft"); err != nil {
		t.Fatalf("partition test needs nft (Debian package nftables): %v", err)
	}
}

// cut says which of a node's packets a partition drops.
type cut int

const (
	cutBoth cut = iota // to and from the other nodes
	cutIn              // to the node's gossip, remote and liveness ports only
	cutOut             // from the node to the others' gossip, remote and liveness ports only
)

func (w cut) String() string { return [...]string{"both ways", "inbound", "outbound"}[w] }

// cutBetween cuts a and b off from each other on loopback, both ways, and
// from nobody else: every gossip, remote and liveness packet either sends
// to the other is dropped (matched by its user id: a must run as cutUID, b
// as cutUID2). The returned func heals the cut; the test's cleanup heals
// it too.
func cutBetween(t *testing.T, a, b *clustertest.Node) (heal func()) {
	t.Helper()
	port := func(addr string) string { return addr[strings.LastIndex(addr, ":")+1:] }
	tcp := func(n *clustertest.Node) string {
		return strings.Join([]string{port(n.Gossip()), port(n.Remote()), port(n.Liveness())}, ", ")
	}
	table := fmt.Sprintf("focaltest%d", os.Getpid())
	script := fmt.Sprintf(`table inet %s {
	chain output {
		type filter hook output priority 0; policy accept;
		meta skuid %d tcp dport { %s } drop
		meta skuid %d udp dport %s drop
		meta skuid %d tcp dport { %s } drop
		meta skuid %d udp dport %s drop
	}
}
`, table, cutUID, tcp(b), cutUID, port(b.Gossip()), cutUID2, tcp(a), cutUID2, port(a.Gossip()))
	return applyCut(t, table, script)
}

// isolate cuts node off from the other nodes on loopback both ways.
func isolate(t *testing.T, c *clustertest.Cluster, node *clustertest.Node) (heal func()) {
	t.Helper()
	return partition(t, c, node, cutBoth)
}

// partition cuts node off from the other nodes on loopback: every gossip,
// remote and liveness packet it sends to them (matched by its user id;
// cutOut, cutBoth) and every packet sent to its own gossip, remote and
// liveness ports
// (cutIn, cutBoth) is dropped. Its XMPP streams to Prosody stay up. The
// returned func heals the partition; the test's cleanup heals it too.
func partition(t *testing.T, c *clustertest.Cluster, node *clustertest.Node, way cut) (heal func()) {
	t.Helper()
	port := func(addr string) string { return addr[strings.LastIndex(addr, ":")+1:] }
	var otherTCP, otherUDP []string
	for _, n := range c.Nodes() {
		if n != node {
			otherTCP = append(otherTCP, port(n.Gossip()), port(n.Remote()), port(n.Liveness()))
			otherUDP = append(otherUDP, port(n.Gossip()))
		}
	}
	table := fmt.Sprintf("focaltest%d", os.Getpid())
	out := fmt.Sprintf(`
	chain output {
		type filter hook output priority 0; policy accept;
		meta skuid %[1]d tcp dport { %[2]s } drop
		meta skuid %[1]d udp dport { %[3]s } drop
	}`, cutUID, strings.Join(otherTCP, ", "), strings.Join(otherUDP, ", "))
	in := fmt.Sprintf(`
	chain input {
		type filter hook input priority 0; policy accept;
		iif lo tcp dport { %[1]s, %[2]s, %[3]s } drop
		iif lo udp dport { %[1]s } drop
	}`, port(node.Gossip()), port(node.Remote()), port(node.Liveness()))
	switch way {
	case cutIn:
		out = ""
	case cutOut:
		in = ""
	}
	return applyCut(t, table, "table inet "+table+" {"+out+in+"\n}\n")
}

// applyCut loads script, which makes table, and returns the func that
// deletes the table; the test's cleanup deletes it too.
func applyCut(t *testing.T, table, script string) (heal func()) {
	t.Helper()
	cmd := exec.Command("nft", "-f", "-")
	cmd.Stdin = strings.NewReader(script)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("nft: %v: %s", err, out)
	}
	healed := false
	heal = func() {
		if healed {
			return
		}
		healed = true
		if out, err := exec.Command("nft", "delete", "table", "inet", table).CombinedOutput(); err != nil {
			t.Errorf("nft delete: %v: %s", err, out)
		}
	}
	t.Cleanup(heal)
	return heal
}

// drivers samples which nodes drive each room, asking every node's own
// directory at about the same time (each answers for itself at once).
func drivers(ctx context.Context, c *clustertest.Cluster) (map[string][]string, error) {
	type answer struct {
		node  string
		rooms []string
		err   error
	}
	running := c.Running()
	answers := make(chan answer, len(running))
	for _, n := range running {
		go func() {
			qctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			defer cancel()
			rooms, err := n.OwnRooms(qctx)
			if err != nil && qctx.Err() != nil && ctx.Err() == nil {
				// A node that does not answer for this long is stuck: its
				// goroutine dump (SIGQUIT) lands in its log for the failure.
				_ = syscall.Kill(n.PID(), syscall.SIGQUIT)
			}
			answers <- answer{n.Name(), rooms, err}
		}()
	}
	out := map[string][]string{}
	var firstErr error
	for range running {
		a := <-answers
		if a.err != nil && firstErr == nil {
			firstErr = a.err
		}
		for _, r := range a.rooms {
			out[r] = append(out[r], a.node)
		}
	}
	for _, nodes := range out {
		slices.Sort(nodes)
	}
	return out, firstErr
}

// The partition rule: a node drives conferences only while it sees a
// strict majority of the configured cluster, and a standby is promoted
// only a PromoteDelay after its owner left the membership. A node cut off
// from the others sees itself alone, drives nothing and lets its
// conferences go; the majority takes them over. Sampled all along, no
// conference is ever driven by two nodes.
func TestPartitionedNodeNeverDrivesAlongsideTheMajority(t *testing.T) {
	const conferences = 9
	needFirewall(t)
	// node1 runs as another user, to be cut off later.
	c, ctx, pairs := startPairs(t, clustertest.Options{Nodes: 3, Bridges: 1, UIDs: map[int]uint32{0: cutUID}}, 3, conferences, "partition")
	d, err := drivers(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	counts := map[string]int{}
	for _, nodes := range d {
		counts[nodes[0]]++
	}
	cut := c.Node(0)
	if counts[cut.Name()] == 0 {
		t.Fatalf("%s drives none of the conferences: %v", cut.Name(), d)
	}
	seen := received(pairs)

	// Sample the drivers until every conference is driven by one node of
	// the majority.
	check := func(what string, done func(map[string][]string) bool) {
		t.Helper()
		for {
			d, err := drivers(ctx, c)
			if err != nil {
				t.Fatal(err)
			}
			for room, nodes := range d {
				if len(nodes) > 1 {
					t.Fatalf("%s: %s driven by %v at once", what, room, nodes)
				}
			}
			if done(d) {
				return
			}
			select {
			case <-ctx.Done():
				t.Fatalf("%s: drivers %v", what, d)
			case <-time.After(25 * time.Millisecond):
			}
		}
	}
	started := time.Now()
	heal := isolate(t, c, cut)
	check("partitioned", func(d map[string][]string) bool {
		if len(d) != conferences {
			return false
		}
		for _, nodes := range d {
			if nodes[0] == cut.Name() {
				return false
			}
		}
		return true
	})
	t.Logf("%s cut off; its %d conferences driven by the majority %v later", cut.Name(), counts[cut.Name()], time.Since(started).Round(time.Millisecond))

	// The conferences work on the majority side.
	for i, p := range pairs {
		p.addSource(ctx, t, int64(700000+i), "part", "during the partition")
	}

	// Healed, the node takes its share back, still one driver per room.
	healed := time.Now()
	heal()
	if err := c.WaitCluster(ctx, 3); err != nil {
		t.Fatal(err)
	}
	check("healed", func(d map[string][]string) bool {
		mine := 0
		for _, nodes := range d {
			if slices.Contains(nodes, cut.Name()) {
				mine++
			}
		}
		return len(d) == conferences && mine > 0
	})
	t.Logf("healed: %s drives conferences again %v later", cut.Name(), time.Since(healed).Round(time.Millisecond))

	// Every conference still works, wherever it is driven now.
	for i, p := range pairs {
		p.addSource(ctx, t, int64(710000+i), "healed", "after healing")
	}
	// The focus's session moved between nodes by resumption: no presence
	// of the focus, in the partition or after.
	checkUndisturbed(t, pairs, seen)
}
