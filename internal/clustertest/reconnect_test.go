package clustertest_test

import (
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"

	"focal/internal/clustertest"
)

// cutClientStream resets the TCP connections node has to Prosody's c2s
// port (ss -K, root only), as a network blip would: the node's client
// stream reconnects and re-joins its rooms.
func cutClientStream(t *testing.T, c *clustertest.Cluster, node *clustertest.Node) {
	t.Helper()
	c2s := c.Prosody.C2SAddr[strings.LastIndex(c.Prosody.C2SAddr, ":")+1:]
	out, err := exec.Command("ss", "-tnpH", "state", "established", "( dport = :"+c2s+" )").CombinedOutput()
	if err != nil {
		t.Fatalf("ss: %v: %s", err, out)
	}
	local := regexp.MustCompile(`^\S+\s+\S+\s+\S+:(\d+)\s+\S+\s+.*pid=` + fmt.Sprint(node.PID()) + `,`)
	cut := 0
	for _, line := range strings.Split(string(out), "\n") {
		m := local.FindStringSubmatch(strings.TrimSpace(line))
		if m == nil {
			continue
		}
		if out, err := exec.Command("ss", "-K", "-tn", "( sport = :"+m[1]+" )").CombinedOutput(); err != nil {
			t.Fatalf("ss -K: %v: %s", err, out)
		}
		cut++
	}
	if cut == 0 {
		t.Fatalf("no c2s connection of %s (pid %d) in:\n%s", node.Name(), node.PID(), out)
	}
}

// When the owner's connections to Prosody drop, its shard session resumes
// itself (XEP-0198): the focus never leaves the room, occupants' IQs sent
// meanwhile are queued and redelivered, and participants see nothing.
func TestOwnerStreamReconnectResumesItsSession(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Fatal("needs root to reset sockets (ss -K): run the tests as root, as .ci/run does")
	}
	c, ctx, pairs := startPairs(t, clustertest.Options{Nodes: 3, Bridges: 1}, 3, 1, "reconnect")
	p := pairs[0]
	d, err := drivers(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	var owner *clustertest.Node
	for _, n := range c.Nodes() {
		if n.Name() == d[p.room][0] {
			owner = n
		}
	}
	seen := [2]int{len(p.alice.c.Received()), len(p.bob.c.Received())}
	cutClientStream(t, c, owner)
	// Sent at once, while the owner may still be reconnecting: it goes
	// through the owner to the other participant.
	const ssrc = 600000
	if err := p.alice.media.SendSourceAdd(ctx, newSource(ssrc, "re")); err != nil {
		t.Fatalf("source-add after the reconnect: %v", err)
	}
	if err := p.bob.media.AwaitRemoteSSRC(ctx, ssrc); err != nil {
		t.Fatal(err)
	}
	if d, _ := drivers(ctx, c); len(d[p.room]) != 1 || d[p.room][0] != owner.Name() {
		t.Errorf("drivers after the reconnect: %v, want only %s", d[p.room], owner.Name())
	}
	if n := focusPresences(p.alice, p.room, seen[0]) + focusPresences(p.bob, p.room, seen[1]); n > 0 {
		t.Errorf("participants saw %d presences of the focus", n)
	}
}
