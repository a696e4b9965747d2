package directory

import (
	"fmt"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"focal/cluster"
)

func members(names ...string) []cluster.Member {
	out := make([]cluster.Member, len(names))
	for i, n := range names {
		out[i] = cluster.Member{Name: n}
	}
	return out
}

// A conference is handed over only to a member this node has been in
// unbroken contact with for SteadyContact; a member re-added after its
// death without an answered probe, or silent, is not one.
func TestHandOverOnlyToMembersInSteadyContact(t *testing.T) {
	now := time.Unix(1000, 0)
	d := &directory{cfg: DefaultConfig(), self: "node2", members: members("node1", "node2", "node3")}
	contacts := map[string]cluster.Contact{
		"node1": {},                                                                     // re-added, never heard from since
		"node3": {Last: now.Add(-200 * time.Millisecond), Since: now.Add(-time.Minute)}, // steady
	}
	d.placement = &Placement{Self: "node2", Members: d.members, FailureTimeout: 1800 * time.Millisecond,
		Contacts: func() map[string]cluster.Contact { return contacts }}
	if d.steady("node1", now) {
		t.Error("a member not heard from since its return is steady")
	}
	if !d.silent("node1", now) {
		t.Error("a member not heard from since its return is not silent")
	}
	if !d.steady("node3", now) || d.silent("node3", now) {
		t.Error("a member answering probes for a minute is not steady")
	}
	if !d.steady("node2", now) {
		t.Error("this node is not steady with itself")
	}
	// Contact regained a second ago: not steady yet, and when it will be.
	contacts["node1"] = cluster.Contact{Last: now.Add(-100 * time.Millisecond), Since: now.Add(-time.Second)}
	if d.steady("node1", now) {
		t.Error("steady one second into a contact")
	}
	if at, want := d.whenSteady("node1", now), now.Add(-time.Second).Add(d.cfg.SteadyContact); !at.Equal(want) {
		t.Errorf("steady at %v, want %v", at, want)
	}
	// Without contact information every member is steady (not clustered).
	d.placement.Contacts = nil
	if !d.steady("node1", now) || d.silent("node1", now) {
		t.Error("without contacts a member is not steady")
	}
}

// A draining node hands its conferences to an owner in contact even if
// that contact is not steady yet: it cannot keep them.
func TestADrainingNodeHandsOverToAnOwnerInContact(t *testing.T) {
	now := time.Now()
	d := &directory{cfg: DefaultConfig(), self: "node2", members: members("node1", "node2", "node3")}
	d.members[1].Draining = true
	contacts := map[string]cluster.Contact{"node1": {Last: now.Add(-100 * time.Millisecond), Since: now.Add(-time.Second)}}
	d.placement = &Placement{Self: "node2", Members: d.members, Contacts: func() map[string]cluster.Contact { return contacts }}
	if !d.draining() {
		t.Fatal("a node marked draining is not draining")
	}
	if d.steady("node1", now) || !d.inContact("node1", now) {
		t.Fatal("node1 should be in contact for a second, not steadily")
	}
}

// A member that has sent nothing for longer than memberlist's failure
// timeout is placed as if dead, though memberlist keeps it (its TCP
// fallback probe gets through a partition of the packets it sends): the
// next member of each ranking owns and replicates its shards, and a
// standby of a conference it drove counts its driver gone. A member that
// answers probes late but sends (a loaded host) is kept, and so is one
// quiet for less, with placement looked at again when it would turn
// unheard.
func TestAnUnheardMemberIsPlacedAsIfDead(t *testing.T) {
	now := time.Now()
	all := members("node1", "node2", "node3", "node4")
	contacts := map[string]cluster.Contact{
		"node1": {Last: now.Add(-2 * time.Second), Since: now.Add(-time.Minute), Heard: now.Add(-2 * time.Second)},
		"node3": {Last: now.Add(-time.Second), Since: now.Add(-time.Minute), Heard: now.Add(-time.Second)},
		// No probe answered in time for 3 s, but its packets arrive.
		"node4": {Last: now.Add(-3 * time.Second), Since: now.Add(-time.Minute), Heard: now.Add(-100 * time.Millisecond)},
	}
	d := &directory{cfg: DefaultConfig(), self: "node2", log: slog.New(slog.DiscardHandler)}
	d.placement = &Placement{Self: "node2", Members: all, FailureTimeout: 1800 * time.Millisecond,
		Contacts: func() map[string]cluster.Contact { return contacts }}
	placed, recheck := d.audible(all, now)
	if names := memberNames(placed); !slices.Equal(names, []string{"node2", "node3", "node4"}) {
		t.Fatalf("placed on %v, want node2, node3 and node4", names)
	}
	if want := now.Add(800 * time.Millisecond); !recheck.Equal(want) {
		t.Errorf("recheck at %v, want %v (when node3 would turn unheard)", recheck, want)
	}
	if !d.silent("node4", now) || d.unheard("node4", now) {
		t.Error("a member sending but answering late should be silent, not unheard")
	}
	d.members = placed
	if _, alive := d.member("node1"); alive {
		t.Error("an unheard driver counts as alive for its standbys")
	}
	// Every shard node1 ranked first for goes to the next of its ranking.
	for shard := range cluster.DefaultShards {
		key := cluster.ShardKey(shard)
		full := cluster.Ranked(key, all)
		if full[0].Name != "node1" {
			continue
		}
		if owner, _ := cluster.Owner(key, d.members); owner.Name != full[1].Name {
			t.Errorf("shard %d: owner %s, want %s", shard, owner.Name, full[1].Name)
		}
	}
	// Heard from again: placed again, at once.
	contacts["node1"] = cluster.Contact{Last: now, Since: now, Heard: now}
	if placed, _ := d.audible(all, now); len(placed) != 4 {
		t.Errorf("placed on %v once node1 answered", memberNames(placed))
	}
	// Without contact information nobody is unheard (not clustered).
	d.placement.Contacts = nil
	if placed, recheck := d.audible(all, now); len(placed) != 4 || !recheck.IsZero() {
		t.Errorf("without contacts: placed on %v, recheck %v", memberNames(placed), recheck)
	}
}

func memberNames(ms []cluster.Member) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = m.Name
	}
	return out
}

// successorRecorder is a shard session that remembers its successor.
type successorRecorder struct {
	ShardSession
	successor *actor.PID
}

func (s *successorRecorder) SetSuccessor(pid *actor.PID) { s.successor = pid }

// The owner of a shard sends its session's resumption state to the
// conferences' replica, the second of the ranking, even while contact with
// it wavers: the conference changes and the h they follow from travel on
// one link. A node driving a shard it does not own names the first member
// it is in contact with, as it does for the replica.
func TestTheSuccessorIsTheReplica(t *testing.T) {
	now := time.Now()
	var all []cluster.Member
	for i, name := range []string{"node1", "node2", "node3"} {
		all = append(all, cluster.Member{Name: name, NodeMeta: cluster.NodeMeta{Remote: fmt.Sprintf("127.0.0.1:%d", i+1)}})
	}
	// A shard whose ranking is node2, then the other two.
	shard := -1
	for s := range cluster.DefaultShards {
		if r := cluster.Ranked(cluster.ShardKey(s), all); r[0].Name == "node2" {
			shard = s
			break
		}
	}
	ranked := cluster.Ranked(cluster.ShardKey(shard), all)
	contacts := map[string]cluster.Contact{
		ranked[1].Name: {}, // out of contact for the moment
		ranked[2].Name: {Last: now, Since: now.Add(-time.Minute)},
	}
	placement := &Placement{Members: all, Contacts: func() map[string]cluster.Contact { return contacts }}
	rec := &successorRecorder{}
	l := &link{shard: shard, s: rec}

	owner := &directory{cfg: DefaultConfig(), self: "node2", members: all, placement: placement}
	owner.setSuccessor(l)
	if rec.successor == nil || rec.successor.Address != ranked[1].Remote {
		t.Errorf("owner's successor %v, want its replica %s", rec.successor, ranked[1].Name)
	}

	// The third of the ranking drives the shard for the moment (its owner
	// let it go): it names the first member it is in contact with.
	driver := &directory{cfg: DefaultConfig(), self: ranked[2].Name, members: all, placement: placement}
	contacts[ranked[1].Name] = cluster.Contact{Last: now, Since: now.Add(-time.Minute)}
	driver.setSuccessor(l)
	if rec.successor == nil || rec.successor.Address != ranked[1].Remote {
		t.Errorf("a driver that is not the owner names %v, want the first member in contact, %s", rec.successor, ranked[1].Name)
	}
}
