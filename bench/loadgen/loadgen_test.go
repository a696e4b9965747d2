package loadgen_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"focal/bench/loadgen"
	"focal/internal/clustertest"
)

func TestMain(m *testing.M) { os.Exit(clustertest.Main(m)) }

// scenarioFor is s aimed at the cluster c, with the CPU of every process.
func scenarioFor(c *clustertest.Cluster, s loadgen.Scenario) loadgen.Scenario {
	s.Addr, s.Domain = c.Prosody.C2SAddr, c.Prosody.Domain
	s.Component, s.MUC = c.Component(), c.Prosody.MUCDomain()
	s.Processes = map[string]int{"prosody": c.Prosody.PID(), "bridges": c.BridgesPID()}
	for _, n := range c.Nodes() {
		s.Processes[n.Name()] = n.PID()
	}
	return s
}

// The short mode of the load generator, run by the test suite: a join
// storm of 20 conferences of 2 (simulcast cameras, a source-add each) on
// one node and on a three-node cluster, side by side. It proves the tool
// works and that every participant gets in with no error; it prints the
// figures and asserts none of them (the machine is shared; see
// BENCHMARKS.md for measured runs).
func TestShortJoinStorm(t *testing.T) {
	for _, nodes := range []int{1, 3} {
		t.Run(fmt.Sprintf("%d nodes", nodes), func(t *testing.T) {
			c := clustertest.Start(t, clustertest.Options{Nodes: nodes, Bridges: 1})
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			if err := c.WaitCluster(ctx, nodes); err != nil {
				t.Fatal(err)
			}
			var progress strings.Builder
			res, err := loadgen.Run(ctx, scenarioFor(c, loadgen.Scenario{
				Prefix: "short", Conferences: 20, Participants: 2, Rate: 40, SourceAdd: true, Progress: &progress,
			}))
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%d node(s):\n%s", nodes, loadgen.Summary(res))
			if res.Errors != 0 || res.InSession != res.Participants || res.SourceAdd.N != res.Participants {
				t.Errorf("%d errors, %d of %d in session, %d source-adds answered: %v", res.Errors, res.InSession, res.Participants, res.SourceAdd.N, res.ErrorSamples)
			}
			if len(res.CPUPer1000Joins) != nodes+3 {
				t.Errorf("CPU accounted for %v", res.CPUPer1000Joins)
			}
		})
	}
}
