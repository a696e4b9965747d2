package cluster

import (
	"fmt"
	"hash/fnv"
	"math"
	"slices"
	"strings"
	"testing"
)

func members(names ...string) []Member {
	ms := make([]Member, len(names))
	for i, n := range names {
		ms[i] = Member{Name: n}
	}
	return ms
}

func nodes(n int) []Member {
	ms := make([]Member, n)
	for i := range ms {
		ms[i] = Member{Name: fmt.Sprintf("node-%d", i+1)}
	}
	return ms
}

func roomKey(i int) string { return fmt.Sprintf("room-%d@conference.meet.jitsi", i) }

const placementKeys = 10_000

func owners(t *testing.T, ms []Member) []string {
	t.Helper()
	out := make([]string, placementKeys)
	for i := range out {
		o, ok := Owner(roomKey(i), ms)
		if !ok {
			t.Fatalf("no owner for %s among %d members", roomKey(i), len(ms))
		}
		out[i] = o.Name
	}
	return out
}

// Nodes of different versions must compute the same owners; a change to the
// score function would split a mixed cluster's view of who owns what.
func TestScoreIsStable(t *testing.T) {
	for _, c := range []struct {
		name, key string
		want      uint64
	}{
		{"node-1", "room@conference.meet.jitsi", 0x31e593197464d460},
		{"node-2", "room@conference.meet.jitsi", 0xcf159cee91531ae7},
		{"focal-a", "", 0x248df73d77c817b7},
	} {
		if got := score(c.name, keyHash(c.key)); got != c.want {
			t.Errorf("score(%q, %q) = %#x, want %#x", c.name, c.key, got, c.want)
		}
	}
}

func TestFNV1aMatchesTheStandardLibrary(t *testing.T) {
	for _, s := range []string{"", "a", "node-1", "room@conference.meet.jitsi"} {
		h := fnv.New64a()
		h.Write([]byte(s))
		if got, want := fnv1a(s), h.Sum64(); got != want {
			t.Errorf("fnv1a(%q) = %#x, want %#x", s, got, want)
		}
	}
}

func TestOwnerIsDeterministicWhateverTheMemberOrder(t *testing.T) {
	ms := nodes(7)
	rev := slices.Clone(ms)
	slices.Reverse(rev)
	for i := range 1000 {
		k := roomKey(i)
		a, _ := Owner(k, ms)
		b, _ := Owner(k, rev)
		c, _ := Owner(k, ms)
		if a.Name != b.Name || a.Name != c.Name {
			t.Fatalf("%s: owners %s, %s, %s", k, a.Name, b.Name, c.Name)
		}
		if !slices.Equal(Ranked(k, ms), Ranked(k, rev)) {
			t.Fatalf("%s: ranking depends on member order", k)
		}
	}
}

func TestRankedStartsWithOwnerAndHoldsEveryMemberOnce(t *testing.T) {
	ms := nodes(5)
	for i := range 1000 {
		k := roomKey(i)
		r := Ranked(k, ms)
		o, _ := Owner(k, ms)
		if len(r) != len(ms) || r[0].Name != o.Name {
			t.Fatalf("%s: ranked %v, owner %s", k, r, o.Name)
		}
		seen := map[string]bool{}
		for j, m := range r {
			if seen[m.Name] {
				t.Fatalf("%s: %s twice in %v", k, m.Name, r)
			}
			seen[m.Name] = true
			if j > 0 && score(m.Name, keyHash(k)) > score(r[j-1].Name, keyHash(k)) {
				t.Fatalf("%s: ranking not in score order", k)
			}
		}
	}
}

// The first replica is the one that takes over: when the owner goes, the
// new owner is the member that was ranked second.
func TestFirstReplicaBecomesOwnerWhenOwnerLeaves(t *testing.T) {
	ms := nodes(5)
	for i := range 1000 {
		k := roomKey(i)
		r := Ranked(k, ms)
		rest := slices.DeleteFunc(slices.Clone(ms), func(m Member) bool { return m.Name == r[0].Name })
		o, _ := Owner(k, rest)
		if o.Name != r[1].Name {
			t.Fatalf("%s: new owner %s, first replica was %s", k, o.Name, r[1].Name)
		}
	}
}

func TestOnlyAboutOneNthOfKeysMoveWhenAMemberJoins(t *testing.T) {
	for _, n := range []int{3, 10} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			before := owners(t, nodes(n))
			grown := append(nodes(n), Member{Name: "newcomer"})
			after := owners(t, grown)
			moved := 0
			for i := range before {
				if before[i] != after[i] {
					moved++
					if after[i] != "newcomer" {
						t.Fatalf("%s moved from %s to %s, not to the newcomer", roomKey(i), before[i], after[i])
					}
				}
			}
			checkMoved(t, moved, n+1)
		})
	}
}

func TestOnlyTheLeaversKeysMoveWhenAMemberLeaves(t *testing.T) {
	for _, n := range []int{3, 10} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			all := nodes(n)
			before := owners(t, all)
			gone := all[n/2].Name
			after := owners(t, slices.Delete(slices.Clone(all), n/2, n/2+1))
			moved := 0
			for i := range before {
				if before[i] != after[i] {
					moved++
					if before[i] != gone {
						t.Fatalf("%s moved from %s, which did not leave", roomKey(i), before[i])
					}
				}
			}
			checkMoved(t, moved, n)
		})
	}
}

// checkMoved wants moved ≈ placementKeys/n, within 15%.
func checkMoved(t *testing.T, moved, n int) {
	t.Helper()
	want := float64(placementKeys) / float64(n)
	t.Logf("%d of %d keys moved (ideal %.0f)", moved, placementKeys, want)
	if math.Abs(float64(moved)-want) > 0.15*want {
		t.Errorf("%d keys moved, want %.0f ± 15%%", moved, want)
	}
}

func TestDrainingMembersNeverOwn(t *testing.T) {
	ms := nodes(4)
	ms[1].Draining = true
	for i := range placementKeys {
		k := roomKey(i)
		if o, _ := Owner(k, ms); o.Draining {
			t.Fatalf("%s owned by draining %s", k, o.Name)
		}
		for _, m := range Ranked(k, ms) {
			if m.Draining {
				t.Fatalf("%s ranks draining %s", k, m.Name)
			}
		}
	}
}

func TestNoOwnerWhenEveryMemberDrains(t *testing.T) {
	ms := nodes(3)
	for i := range ms {
		ms[i].Draining = true
	}
	if o, ok := Owner("room@conference.meet.jitsi", ms); ok {
		t.Fatalf("owner %s among draining members", o.Name)
	}
	if o, ok := Owner("room@conference.meet.jitsi", nil); ok {
		t.Fatalf("owner %s among no members", o.Name)
	}
	if r := Ranked("room@conference.meet.jitsi", ms); len(r) != 0 {
		t.Fatalf("ranked %v among draining members", r)
	}
}

func TestKeysSpreadEvenlyOverMembers(t *testing.T) {
	for _, n := range []int{3, 10} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			count := map[string]int{}
			for _, o := range owners(t, nodes(n)) {
				count[o]++
			}
			want := float64(placementKeys) / float64(n)
			t.Logf("keys per member: %v (ideal %.0f)", count, want)
			if len(count) != n {
				t.Fatalf("%d of %d members own keys", len(count), n)
			}
			for name, c := range count {
				if math.Abs(float64(c)-want) > 0.12*want {
					t.Errorf("%s owns %d keys, want %.0f ± 12%%", name, c, want)
				}
			}
		})
	}
}

// Replicas matter as much as owners: with three members each of the six
// orders should come up about equally often, or one member would be the
// first replica of another's rooms far more than its share.
func TestRankingsAreUniform(t *testing.T) {
	ms := nodes(3)
	count := map[string]int{}
	for i := range placementKeys {
		count[strings.Join(names(Ranked(roomKey(i), ms)), ",")]++
	}
	want := float64(placementKeys) / 6
	t.Logf("orders: %v (ideal %.0f)", count, want)
	if len(count) != 6 {
		t.Fatalf("%d of 6 orders seen", len(count))
	}
	for order, c := range count {
		if math.Abs(float64(c)-want) > 0.12*want {
			t.Errorf("order %s for %d keys, want %.0f ± 12%%", order, c, want)
		}
	}
}

func TestSimilarNamesStillSplitKeys(t *testing.T) {
	// Names differing only in their last byte must not rank alike.
	ms := members("a", "b")
	count := map[string]int{}
	for i := range placementKeys {
		o, _ := Owner(roomKey(i), ms)
		count[o.Name]++
	}
	if c := count["a"]; c < 4500 || c > 5500 {
		t.Fatalf("a owns %d of %d keys, want about half", c, placementKeys)
	}
}

var sinkMember Member

func BenchmarkOwner(b *testing.B) {
	for _, n := range []int{3, 100} {
		b.Run(fmt.Sprintf("members=%d", n), func(b *testing.B) {
			ms := nodes(n)
			keys := make([]string, 1024)
			for i := range keys {
				keys[i] = roomKey(i)
			}
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				sinkMember, _ = Owner(keys[i&1023], ms)
				i++
			}
		})
	}
}

func BenchmarkRanked(b *testing.B) {
	for _, n := range []int{3, 100} {
		b.Run(fmt.Sprintf("members=%d", n), func(b *testing.B) {
			ms := nodes(n)
			b.ReportAllocs()
			for b.Loop() {
				_ = Ranked("room-1@conference.meet.jitsi", ms)
			}
		})
	}
}

func TestShardsSpreadRoomsAndAreStable(t *testing.T) {
	const rooms, shards = 6400, DefaultShards
	counts := make([]int, shards)
	for i := range rooms {
		counts[Shard(fmt.Sprintf("room-%d@conference.meet.jitsi", i), shards)]++
	}
	for s, n := range counts {
		if n < rooms/shards/2 || n > rooms/shards*2 {
			t.Errorf("shard %d has %d of %d rooms", s, n, rooms)
		}
	}
	// Pinned like the score: nodes of different versions must agree.
	if got := Shard("room@conference.meet.jitsi", shards); got != 37 {
		t.Fatalf("Shard(room) = %d, pinned %d", got, 37)
	}
	if got := ShardKey(7); got != "shard/7" {
		t.Fatalf("ShardKey(7) = %q", got)
	}
}
