package directory

import (
	"testing"
	"time"

	"focal/cluster"
)

// roomOwnedBy finds a room that placement gives to owner among members.
func roomOwnedBy(t *testing.T, d *directory, owner string, members []cluster.Member) string {
	t.Helper()
	for i := range 1000 {
		room := "r" + string(rune('a'+i%26)) + string(rune('a'+i/26)) + "@c"
		if o, ok := cluster.Owner(cluster.ShardKey(d.shardOf(room)), members); ok && o.Name == owner {
			return room
		}
	}
	t.Fatalf("no room owned by %s", owner)
	return ""
}

// A room this node has just come to own from another node is being
// inherited for Config.InheritWait after the view change; one it owned
// before is not, and nothing is after the wait.
func TestInheritingFollowsTheViewBefore(t *testing.T) {
	d := stubDirectory(t)
	d.self = "node2"
	start := time.Unix(1000, 0)
	three, two := members("node1", "node2", "node3"), members("node2", "node3")
	d.noteView(three, start)
	d.clustered, d.members = true, three
	settled := start.Add(time.Minute)
	if d.inheriting(roomOwnedBy(t, d, "node1", three), settled) {
		t.Error("a settled view must not hold requests")
	}

	d.noteView(two, settled)
	d.members = two
	fromNode1 := roomOwnedBy(t, d, "node1", three)
	mine := roomOwnedBy(t, d, "node2", three)
	if !d.inheriting(fromNode1, settled.Add(time.Millisecond)) {
		t.Error("a room node1 owned before node1 went must be awaited")
	}
	if d.inheriting(mine, settled.Add(time.Millisecond)) {
		t.Error("a room this node owned before the change is not inherited")
	}
	if d.inheriting(fromNode1, settled.Add(d.cfg.InheritWait)) {
		t.Error("the wait must end after InheritWait")
	}

	d.noteView(two, settled.Add(time.Second))
	if !d.viewChanged.Equal(settled) {
		t.Error("the same member set again is no view change")
	}
}

// A node that has just joined knows no owner from before it: every room
// it has no conference for may be driven by another node.
func TestAJoiningNodeInheritsEveryRoom(t *testing.T) {
	d := stubDirectory(t)
	d.clustered = false
	start := time.Unix(1000, 0)
	alone := members("node2")
	d.noteView(alone, start)
	d.clustered, d.self, d.members = true, "node2", alone
	three := members("node1", "node2", "node3")
	d.noteView(three, start.Add(100*time.Millisecond))
	d.members = three
	if !d.inheriting(roomOwnedBy(t, d, "node2", alone), start.Add(200*time.Millisecond)) {
		t.Error("a joining node must ask before it starts a conference")
	}
	if d.inheriting(roomOwnedBy(t, d, "node2", alone), start.Add(d.cfg.InheritWait+time.Second)) {
		t.Error("after the wait the joining node starts conferences")
	}
}
