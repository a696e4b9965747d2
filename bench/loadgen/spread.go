package loadgen

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"sync"
	"time"
)

// spreadLead is how far ahead of now a spread run's Start is set, so that
// every generator process is up before participant 0 is due.
const spreadLead = 2 * time.Second

// Spread runs s over count generator processes, for loads one process
// cannot drive: command(ctx, shard, start) is the process that drives shard
// (for instance cmd/loadgen with -shard and -start) and prints its
// Recording as JSON on stdout. This process only watches s.Processes; the
// generators' own CPU adds up as "loadgen".
func Spread(ctx context.Context, s Scenario, count int, command func(context.Context, Shard, time.Time) *exec.Cmd) (Result, error) {
	if count < 1 {
		return Result{}, fmt.Errorf("loadgen: spread over %d processes", count)
	}
	start := time.Now().Add(spreadLead)
	cpuBefore, rssBefore := cpuTimes(s.Processes), rssOf(s.Processes)
	sampler := sampleCPU(s.Processes, s.ServerPorts)
	recs := make([]*Recording, count)
	errs := make([]error, count)
	var wg sync.WaitGroup
	for k := range count {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cmd := command(ctx, Shard{Index: k, Count: count}, start)
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			if err := cmd.Run(); err != nil {
				errs[k] = fmt.Errorf("generator %d of %d: %w\n%s", k, count, err, stderr.Bytes())
				return
			}
			var rec Recording
			if err := json.Unmarshal(stdout.Bytes(), &rec); err != nil {
				errs[k] = fmt.Errorf("generator %d of %d: its recording: %w", k, count, err)
				return
			}
			recs[k] = &rec
		}()
	}
	wg.Wait()
	series, unread := sampler.stop()
	merged := &Recording{Start: start}
	for k, rec := range recs {
		if errs[k] != nil {
			return Result{}, errs[k]
		}
		merged.Merge(rec)
	}
	merged.Elapsed = time.Since(start)
	for name, t := range cpuTimes(s.Processes) {
		merged.CPU[name] = max(0, t-cpuBefore[name])
	}
	for name, rss := range rssOf(s.Processes) {
		merged.RSSGrowth[name] = rss - rssBefore[name]
	}
	// The watcher started spreadLead before the generators: align.
	lead := int(spreadLead / time.Second)
	merged.Unread = map[string][]int64{}
	for name, v := range unread {
		if len(v) > lead {
			merged.Unread[name] = v[lead:]
		}
	}
	for name, v := range series {
		if len(v) > lead {
			v = v[lead:]
		}
		merged.CPUSeries[name] = v
	}
	return ResultOf(merged), nil
}
