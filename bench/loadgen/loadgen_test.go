package loadgen_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
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
// one node and on a three-node cluster, side by side, then the other
// scenarios on the three nodes (shortScenarios). It proves the tools work
// and that every participant gets in with no error; it prints the figures
// and asserts none of them (the machine is shared; see BENCHMARKS.md for
// measured runs).
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
			if nodes == 3 {
				shortScenarios(ctx, t, c)
			}
		})
	}
}

// shortScenarios is the short mode of the other scenarios, on a
// three-node cluster: churn (conference requests over HTTP, everybody
// leaves again and every conference ends), a join storm driven by two
// generator processes, and failover under load (the node driving the most
// conferences, not holding the focus component, SIGKILLed; every
// conference's source-add answered afterwards, newcomers in session), with
// the report written. It kills a node: the cluster is done with after it.
func shortScenarios(ctx context.Context, t *testing.T, c *clustertest.Cluster) {
	var rep loadgen.Report
	check := func(what string, res loadgen.Result) {
		t.Helper()
		t.Logf("%s:\n%s", what, loadgen.Summary(res))
		if res.Errors != 0 || res.InSession != res.Participants {
			t.Errorf("%s: %d errors, %d of %d in session: %v", what, res.Errors, res.InSession, res.Participants, res.ErrorSamples)
		}
		rep.Sections = append(rep.Sections, loadgen.Section{Name: what, Text: loadgen.Summary(res), Result: &res})
	}

	s := scenarioFor(c, loadgen.Scenario{Prefix: "churn", Conferences: 4, Participants: 2, Rate: 20, SourceAdd: true, Hold: 500 * time.Millisecond})
	for _, n := range c.Nodes() {
		s.HTTP = append(s.HTTP, n.HTTP())
	}
	res, err := loadgen.Run(ctx, s)
	if err != nil {
		t.Fatal(err)
	}
	check("churn over HTTP", res)
	// Everybody left: every conference ends.
	for left := -1; left != 0; {
		left = 0
		for _, n := range c.Nodes() {
			cs, err := n.Conferences(ctx)
			if err != nil {
				t.Fatal(err)
			}
			left += len(cs)
		}
		if left > 0 {
			select {
			case <-ctx.Done():
				t.Fatalf("%d conferences still held after everybody left", left)
			case <-time.After(100 * time.Millisecond):
			}
		}
	}

	bin := filepath.Join(t.TempDir(), "loadgen")
	if out, err := exec.Command("go", "build", "-race", "-o", bin, "focal/bench/loadgen/cmd/loadgen").CombinedOutput(); err != nil {
		t.Fatalf("build loadgen: %v\n%s", err, out)
	}
	s = scenarioFor(c, loadgen.Scenario{Prefix: "spread", Conferences: 4, Participants: 2, Rate: 40, SourceAdd: true})
	res, err = loadgen.Spread(ctx, s, 2, func(ctx context.Context, sh loadgen.Shard, start time.Time) *exec.Cmd {
		return exec.CommandContext(ctx, bin, "-addr", s.Addr, "-domain", s.Domain, "-focus", s.Component, "-muc", s.MUC,
			"-prefix", s.Prefix, "-conferences", "4", "-participants", "2", "-rate", "40",
			"-shard", fmt.Sprintf("%d/%d", sh.Index, sh.Count), "-start", fmt.Sprint(start.UnixNano()))
	})
	if err != nil {
		t.Fatal(err)
	}
	check("join storm from 2 processes", res)
	if len(res.Recording.Join)+len(res.Recording.FirstJoin) != 8 || res.CPUPer1000Joins["loadgen"] == 0 {
		t.Errorf("the two generators' recordings were not merged: %d joins, CPU %v", len(res.Recording.Join), res.CPUPer1000Joins)
	}

	// A newcomer asking while nobody holds the focus component is refused
	// ("Component unavailable", fatal to Jitsi Meet): that is the
	// component's failover (BENCHMARKS.md), not this one's.
	holder, err := c.ComponentHolder(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var victim *clustertest.Node
	fo, err := loadgen.RunFailover(ctx, loadgen.Failover{
		Scenario:  scenarioFor(c, loadgen.Scenario{Prefix: "failover", Conferences: 6, Participants: 2, Rate: 40}),
		Newcomers: 3,
		Kill: func() error {
			most := -1
			for _, n := range c.Nodes() {
				if n == holder {
					continue
				}
				rooms, err := n.OwnRooms(ctx)
				if err != nil {
					return err
				}
				if len(rooms) > most {
					victim, most = n, len(rooms)
				}
			}
			return victim.Kill()
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	var recovery []time.Duration
	for _, d := range fo.Recovery {
		recovery = append(recovery, d)
	}
	p := loadgen.PercentilesOf(recovery)
	t.Logf("failover: %s killed; kill → source-add answered, all 6 conferences: p50 %v p99 %v max %v; newcomers in session: %d", victim.Name(), p.P50, p.P99, p.Max, len(fo.NewcomerJoin))
	if fo.Errors != 0 || len(fo.Recovery) != 6 || len(fo.NewcomerJoin) != 3 {
		t.Errorf("failover: %d errors (%v), %d of 6 conferences recovered, %d of 3 newcomers in session", fo.Errors, fo.ErrorSamples, len(fo.Recovery), len(fo.NewcomerJoin))
	}

	dir := t.TempDir()
	if err := rep.Write(dir); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"report.html", "results.json", "churn-over-http-join-latency.svg", "join-storm-from-2-processes-cpu.svg"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Error(err)
		}
	}
}
