package cluster

import (
	"cmp"
	"slices"
)

// Placement is rendezvous (highest random weight) hashing: every member gets
// a pseudo-random score for a key and the highest score wins. It needs no
// shared table, so every node computes the same owner from the same member
// list, and when a member joins or leaves only the keys it wins or held
// move (about 1/N of them), which is what keeps a membership change from
// reshuffling every conference.
//
// The score function is part of the wire protocol in all but name: nodes of
// different versions must agree on owners during a rolling restart, so it
// must never change (TestScoreIsStable pins it).

// Member is one live node of the cluster, as placement and the rest of Focal
// see it.
type Member struct {
	// Name is the node's unique name; it is what rendezvous hashing scores,
	// so a node keeps its rooms across restarts only if it keeps its name.
	Name string
	// Addr is the node's gossip address, HOST:PORT.
	Addr string
	NodeMeta
}

// Owner returns the member that owns key: the non-draining member with the
// highest score. members are taken to be live (Membership.Members returns
// only those). It reports false when no member may own anything, i.e. every
// member is draining or there are none.
func Owner(key string, members []Member) (Member, bool) {
	kh := keyHash(key)
	best := -1
	var bestScore uint64
	for i := range members {
		if members[i].Draining {
			continue
		}
		s := score(members[i].Name, kh)
		if best < 0 || s > bestScore || (s == bestScore && members[i].Name < members[best].Name) {
			best, bestScore = i, s
		}
	}
	if best < 0 {
		return Member{}, false
	}
	return members[best], true
}

// Ranked returns the non-draining members in rendezvous order for key: the
// owner first, then the replicas in the order they would take over. Draining
// members are left out because they are about to leave: state replicated to
// them would be lost with them. Ranked(key, ms)[0] is Owner(key, ms).
func Ranked(key string, members []Member) []Member {
	kh := keyHash(key)
	type scored struct {
		score uint64
		i     int
	}
	order := make([]scored, 0, len(members))
	for i := range members {
		if !members[i].Draining {
			order = append(order, scored{score(members[i].Name, kh), i})
		}
	}
	slices.SortFunc(order, func(a, b scored) int {
		if c := cmp.Compare(b.score, a.score); c != 0 {
			return c
		}
		return cmp.Compare(members[a.i].Name, members[b.i].Name)
	})
	ranked := make([]Member, len(order))
	for j, o := range order {
		ranked[j] = members[o.i]
	}
	return ranked
}

// FNV-1a spreads bytes cheaply but leaves the high bits of short,
// similar strings ("node-1", "node-2") correlated; mix64 (the SplitMix64
// finaliser) removes that. The key is hashed once per call and combined with
// each member name's hash, so Owner costs one short hash per member and does
// not allocate.
const (
	fnvOffset64 = 14695981039346656037
	fnvPrime64  = 1099511628211
)

func fnv1a(s string) uint64 {
	h := uint64(fnvOffset64)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= fnvPrime64
	}
	return h
}

func mix64(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

func keyHash(key string) uint64 { return mix64(fnv1a(key)) }

// score is member name's weight for a key hashed by keyHash.
func score(name string, kh uint64) uint64 { return mix64(fnv1a(name) ^ kh) }
