// Command loadgen runs a load scenario against a running focus (for
// instance scripts/run.sh's): simulated Jitsi Meet participants join
// conferences through the XMPP server, and it prints what they measured,
// with a progress line a second, and writes it as JSON.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"focal/bench/loadgen"
)

func main() {
	var s loadgen.Scenario
	flag.StringVar(&s.Addr, "addr", "127.0.0.1:5222", "c2s address of the XMPP server")
	flag.StringVar(&s.Domain, "domain", "meet.jitsi", "anonymous client domain")
	flag.StringVar(&s.Component, "focus", "", "focus component JID (default focus.<domain>)")
	flag.StringVar(&s.MUC, "muc", "", "conference MUC service (default conference.<domain>)")
	flag.IntVar(&s.Conferences, "conferences", 100, "conferences")
	flag.IntVar(&s.Participants, "participants", 2, "participants per conference")
	flag.Float64Var(&s.Rate, "rate", 0, "participants joining per second (0: all at once)")
	flag.BoolVar(&s.SourceAdd, "source_add", true, "each participant adds a source once in session")
	pids := flag.String("pids", "", "name=PID,... of processes whose CPU to account (focus nodes, prosody, bridges)")
	out := flag.String("json", "", "write the result as JSON to this file")
	timeout := flag.Duration("timeout", 5*time.Minute, "bound on the run")
	flag.Parse()
	if s.Component == "" {
		s.Component = "focus." + s.Domain
	}
	if s.MUC == "" {
		s.MUC = "conference." + s.Domain
	}
	s.Prefix = fmt.Sprintf("load%d", time.Now().Unix())
	s.Progress = os.Stderr
	s.Processes = map[string]int{}
	for _, kv := range strings.Split(*pids, ",") {
		if kv == "" {
			continue
		}
		name, p, ok := strings.Cut(kv, "=")
		pid, err := strconv.Atoi(p)
		if !ok || err != nil {
			fmt.Fprintf(os.Stderr, "loadgen: -pids: %q is not name=PID\n", kv)
			os.Exit(2)
		}
		s.Processes[name] = pid
	}
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	res, err := loadgen.Run(ctx, s)
	if err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(1)
	}
	fmt.Print(loadgen.Summary(res))
	if *out != "" {
		b, _ := json.MarshalIndent(res, "", "  ")
		if err := os.WriteFile(*out, append(b, '\n'), 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "loadgen:", err)
			os.Exit(1)
		}
	}
	if res.Errors > 0 {
		os.Exit(1)
	}
}
