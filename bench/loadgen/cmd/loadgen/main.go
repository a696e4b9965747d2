// Command loadgen runs a load scenario against a running focus (for
// instance scripts/run.sh's): simulated Jitsi Meet participants join
// conferences through the XMPP server, and it prints what they measured,
// with a progress line a second, and writes it as JSON and as a report
// with charts. With -spread it drives the load from several processes.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
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
	flag.StringVar(&s.Prefix, "prefix", "", "room name prefix (default load<unix time>)")
	flag.IntVar(&s.Conferences, "conferences", 100, "conferences")
	flag.IntVar(&s.Participants, "participants", 2, "participants per conference")
	flag.Float64Var(&s.Rate, "rate", 0, "participants joining per second (0: all at once)")
	flag.BoolVar(&s.SourceAdd, "source_add", true, "each participant adds a source once in session")
	announce := flag.Bool("caps", true, "participants announce their capabilities (XEP-0115) in their join presence, as lib-jitsi-meet does")
	flag.BoolVar(&s.JSONSources, "json_sources", false, "participants read sources as compact JSON (json-encoded-sources), as lib-jitsi-meet does")
	flag.DurationVar(&s.Hold, "hold", 0, "each participant leaves this long after it got in (0: stays to the end; churn)")
	httpAddrs := flag.String("http", "", "focus HTTP API addresses, comma-separated: conference requests over HTTP instead of XMPP")
	pids := flag.String("pids", "", "name=PID,... of processes whose CPU and memory to account (focus nodes, prosody, bridges)")
	spread := flag.Int("spread", 1, "generator processes driving the load")
	shard := flag.String("shard", "", "k/n: drive only participants i with i%n == k and print the raw recording as JSON (set by -spread)")
	startNs := flag.Int64("start", 0, "Unix time in ns when participant 0 is due (set by -spread)")
	out := flag.String("json", "", "write the result as JSON to this file")
	report := flag.String("report", "", "write a report (HTML, SVG charts, JSON) into this directory")
	timeout := flag.Duration("timeout", 5*time.Minute, "bound on the run")
	flag.Parse()
	s.NoCaps = !*announce
	// Thousands of clients each log their stream: keep warnings only.
	slog.SetDefault(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
	if s.Component == "" {
		s.Component = "focus." + s.Domain
	}
	if s.MUC == "" {
		s.MUC = "conference." + s.Domain
	}
	if s.Prefix == "" {
		s.Prefix = fmt.Sprintf("load%d", time.Now().Unix())
	}
	if *httpAddrs != "" {
		s.HTTP = strings.Split(*httpAddrs, ",")
	}
	if *startNs != 0 {
		s.Start = time.Unix(0, *startNs)
	}
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()

	if *shard != "" {
		k, n, ok := strings.Cut(*shard, "/")
		s.Shard.Index, _ = strconv.Atoi(k)
		s.Shard.Count, _ = strconv.Atoi(n)
		if !ok || s.Shard.Count < 1 || s.Shard.Index < 0 || s.Shard.Index >= s.Shard.Count {
			fail(2, fmt.Errorf("-shard %q is not k/n", *shard))
		}
		rec, err := loadgen.Record(ctx, s)
		if err != nil {
			fail(1, err)
		}
		if err := json.NewEncoder(os.Stdout).Encode(rec); err != nil {
			fail(1, err)
		}
		return
	}

	s.Progress = os.Stderr
	s.Processes = map[string]int{}
	for _, kv := range strings.Split(*pids, ",") {
		if kv == "" {
			continue
		}
		name, p, ok := strings.Cut(kv, "=")
		pid, err := strconv.Atoi(p)
		if !ok || err != nil {
			fail(2, fmt.Errorf("-pids: %q is not name=PID", kv))
		}
		s.Processes[name] = pid
	}
	var res loadgen.Result
	var err error
	if *spread > 1 {
		res, err = loadgen.Spread(ctx, s, *spread, func(ctx context.Context, sh loadgen.Shard, start time.Time) *exec.Cmd {
			args := append(os.Args[1:len(os.Args):len(os.Args)], "-prefix", s.Prefix,
				"-shard", fmt.Sprintf("%d/%d", sh.Index, sh.Count), "-start", strconv.FormatInt(start.UnixNano(), 10))
			cmd := exec.CommandContext(ctx, os.Args[0], args...)
			return cmd
		})
	} else {
		res, err = loadgen.Run(ctx, s)
	}
	if err != nil {
		fail(1, err)
	}
	summary := loadgen.Summary(res)
	fmt.Print(summary)
	if *out != "" {
		b, _ := json.MarshalIndent(res, "", "  ")
		if err := os.WriteFile(*out, append(b, '\n'), 0o644); err != nil {
			fail(1, err)
		}
	}
	if *report != "" {
		r := loadgen.Report{
			Title:    "Focal load: " + strings.Join(os.Args[1:], " "),
			Preamble: "loadgen " + strings.Join(os.Args[1:], " "),
			Sections: []loadgen.Section{{Name: "run", Text: summary, Result: &res}},
		}
		if err := r.Write(*report); err != nil {
			fail(1, err)
		}
	}
	if res.Errors > 0 {
		os.Exit(1)
	}
}

func fail(code int, err error) {
	fmt.Fprintln(os.Stderr, "loadgen:", err)
	os.Exit(code)
}
