package loadgen

import (
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Percentiles summarise latencies.
type Percentiles struct {
	N   int           `json:"n"`
	P50 time.Duration `json:"p50_ns"`
	P95 time.Duration `json:"p95_ns"`
	P99 time.Duration `json:"p99_ns"`
	Max time.Duration `json:"max_ns"`
}

// PercentilesOf is the nearest-rank percentiles of ds.
func PercentilesOf(ds []time.Duration) Percentiles {
	if len(ds) == 0 {
		return Percentiles{}
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	at := func(p float64) time.Duration {
		i := int(p*float64(len(s))+0.999999) - 1
		return s[max(0, min(i, len(s)-1))]
	}
	return Percentiles{N: len(s), P50: at(0.50), P95: at(0.95), P99: at(0.99), Max: s[len(s)-1]}
}

// clockTicks is the kernel's USER_HZ, the unit of /proc/PID/stat times
// (100 on every Linux architecture Go runs on).
const clockTicks = 100

// cpuTimes reads the user+system CPU time each process has used so far; a
// process that cannot be read counts 0.
func cpuTimes(procs map[string]int) map[string]time.Duration {
	out := make(map[string]time.Duration, len(procs))
	for name, pid := range procs {
		out[name] = cpuTime(pid)
	}
	return out
}

func cpuTime(pid int) time.Duration {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0
	}
	// The command name (field 2) may hold spaces; fields count from the
	// last ')'.
	s := string(b)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(fields) < 13 {
		return 0
	}
	utime, _ := strconv.ParseInt(fields[11], 10, 64)
	stime, _ := strconv.ParseInt(fields[12], 10, 64)
	return time.Duration(utime+stime) * time.Second / clockTicks
}

func selfPID() int { return os.Getpid() }

// rssOf reads each process's resident set size in bytes (VmRSS); a
// process that cannot be read counts 0.
func rssOf(procs map[string]int) map[string]int64 {
	out := make(map[string]int64, len(procs))
	for name, pid := range procs {
		b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(b), "\n") {
			if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
				kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
				out[name] = kb << 10
			}
		}
	}
	return out
}

// Summary is a result as a few lines of text: latencies with their ratio
// to the ping baseline, throughput, errors, CPU per 1,000 joins.
func Summary(r Result) string {
	var b strings.Builder
	fmt.Fprintf(&b, "participants %d, in session %d, errors %d, %.1f s, %.1f joins/s\n",
		r.Participants, r.InSession, r.Errors, r.Elapsed.Seconds(), r.Throughput)
	if r.Recording != nil && r.Recording.SourceSignals > 0 {
		fmt.Fprintf(&b, "source-add/-remove received by the participants: %d\n", r.Recording.SourceSignals)
	}
	base := r.Ping.P50
	row := func(name string, p Percentiles) {
		if p.N == 0 {
			return
		}
		ratio := ""
		if base > 0 {
			ratio = fmt.Sprintf("  (p50 %.1f×, p99 %.1f× ping p50)", float64(p.P50)/float64(base), float64(p.P99)/float64(base))
		}
		fmt.Fprintf(&b, "%-10s n %4d  p50 %9v  p95 %9v  p99 %9v  max %9v%s\n", name, p.N,
			p.P50.Round(10*time.Microsecond), p.P95.Round(10*time.Microsecond), p.P99.Round(10*time.Microsecond), p.Max.Round(10*time.Microsecond), ratio)
	}
	row("ping", r.Ping)
	row("ping c→c", r.PingClient)
	row("request", r.Request)
	row("join", r.Join)
	row("join first", r.FirstJoin)
	row("source-add", r.SourceAdd)
	names := make([]string, 0, len(r.CPUPer1000Joins))
	for name := range r.CPUPer1000Joins {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		fmt.Fprintf(&b, "cpu %-10s %6.2f s per 1,000 joins, RSS %+.1f MiB\n", name, r.CPUPer1000Joins[name], float64(r.RSSGrowth[name])/(1<<20))
	}
	for _, e := range r.ErrorSamples {
		fmt.Fprintf(&b, "error: %s\n", e)
	}
	return b.String()
}
