package node

import (
	"strings"
	"testing"

	"focal/cluster"
)

// Quorum is a strict majority of the configured size; nodes that disagree
// about the size, or more members than it, give a quorum nobody can reach,
// and say why.
func TestQuorumOfTheConfiguredClusterSize(t *testing.T) {
	member := func(name string, size int) cluster.Member {
		return cluster.Member{Name: name, NodeMeta: cluster.NodeMeta{ClusterSize: size}}
	}
	cases := []struct {
		name    string
		size    int
		members []cluster.Member
		quorum  int
		why     string
	}{
		{"alone of three", 3, []cluster.Member{member("a", 3)}, 2, ""},
		{"all three agree", 3, []cluster.Member{member("a", 3), member("b", 3), member("c", 3)}, 2, ""},
		{"five", 5, []cluster.Member{member("a", 5), member("b", 5)}, 3, ""},
		{"an older node that does not say", 3, []cluster.Member{member("a", 3), member("b", 0)}, 2, ""},
		{"a member configured for another size", 3, []cluster.Member{member("a", 3), member("b", 1)}, 3, "member b has --cluster_size 1"},
		{"more members than the size", 2, []cluster.Member{member("a", 2), member("b", 2), member("c", 2)}, 4, "3 members, more than --cluster_size 2"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			quorum, why := quorumOf("a", tc.size, tc.members)
			if quorum != tc.quorum || (tc.why == "") != (why == "") || !strings.Contains(why, tc.why) {
				t.Errorf("quorumOf = %d, %q; want %d, %q", quorum, why, tc.quorum, tc.why)
			}
			if why != "" && quorum <= len(tc.members) {
				t.Errorf("a disagreeing cluster gets a quorum of %d with %d members: reachable", quorum, len(tc.members))
			}
		})
	}
}
