package loadgen

import (
	"fmt"
	"io"
	"slices"
	"sync"
	"time"
)

// Sample is one measured latency, At after the run's start (when it ended).
type Sample struct {
	At time.Duration `json:"at_ns"`
	D  time.Duration `json:"d_ns"`
}

// Failure is one error a participant saw, At after the run's start.
type Failure struct {
	At  time.Duration `json:"at_ns"`
	Err string        `json:"err"`
}

// Recording is everything one generator process measured, raw, so that the
// recordings of several processes driving one run can be merged before
// their percentiles are taken.
type Recording struct {
	Start        time.Time `json:"start"`
	Participants int       `json:"participants"`
	Ping         []Sample  `json:"ping"`
	PingClient   []Sample  `json:"ping_client"`
	// Probe is the probe client's pings to the server through the run
	// (Scenario.Probe): how long the server takes to answer, over time.
	Probe   []Sample `json:"probe"`
	Request []Sample `json:"request"`
	Join    []Sample `json:"join"`
	// FirstJoin is Join for the first participant of each conference,
	// whose session waits for a second one to arrive.
	FirstJoin []Sample  `json:"first_join"`
	SourceAdd []Sample  `json:"source_add"`
	Failures  []Failure `json:"failures"`
	// SourceSignals counts the source-add and source-remove stanzas the
	// participants were sent about the others' sources: a room of N
	// filling up one join at a time costs N² of them unless the focus
	// batches them.
	SourceSignals int `json:"source_signals"`
	// CPU is each accounted process's CPU time during the run.
	CPU map[string]time.Duration `json:"cpu_ns"`
	// CPUSeries is each accounted process's CPU use, in cores, second by
	// second from the start.
	CPUSeries map[string][]float64 `json:"cpu_series"`
	// Unread is the server's unread input (Scenario.ServerPorts), in
	// bytes, second by second, by the process that sent it ("others" for
	// processes not accounted).
	Unread map[string][]int64 `json:"unread_bytes,omitempty"`
	// RSSGrowth is how much each process's resident memory grew.
	RSSGrowth map[string]int64 `json:"rss_growth_bytes"`
	Elapsed   time.Duration    `json:"elapsed_ns"`
}

// Merge adds o, recorded by another process over the same run (the same
// Start), to r. Processes of the same name (each generator's "loadgen")
// add up.
func (r *Recording) Merge(o *Recording) {
	r.Participants += o.Participants
	r.Ping = append(r.Ping, o.Ping...)
	r.PingClient = append(r.PingClient, o.PingClient...)
	r.Probe = append(r.Probe, o.Probe...)
	r.Request = append(r.Request, o.Request...)
	r.Join = append(r.Join, o.Join...)
	r.FirstJoin = append(r.FirstJoin, o.FirstJoin...)
	r.SourceAdd = append(r.SourceAdd, o.SourceAdd...)
	r.SourceSignals += o.SourceSignals
	r.Failures = append(r.Failures, o.Failures...)
	r.Elapsed = max(r.Elapsed, o.Elapsed)
	if len(o.Unread) > 0 {
		r.Unread = o.Unread // only the process watching the server samples it
	}
	if r.CPU == nil {
		r.CPU = map[string]time.Duration{}
	}
	for name, d := range o.CPU {
		r.CPU[name] += d
	}
	if r.CPUSeries == nil {
		r.CPUSeries = map[string][]float64{}
	}
	for name, s := range o.CPUSeries {
		sum := r.CPUSeries[name]
		for len(sum) < len(s) {
			sum = append(sum, 0)
		}
		for i, v := range s {
			sum[i] += v
		}
		r.CPUSeries[name] = sum
	}
	if r.RSSGrowth == nil {
		r.RSSGrowth = map[string]int64{}
	}
	for name, b := range o.RSSGrowth {
		r.RSSGrowth[name] += b
	}
}

// recorder collects what participants measure while a run goes on.
type recorder struct {
	mu    sync.Mutex
	start time.Time
	rec   Recording
}

func newRecorder(start time.Time, participants int) *recorder {
	return &recorder{start: start, rec: Recording{Start: start, Participants: participants}}
}

// add records d, which ended now, in the series to.
func (r *recorder) add(to *[]Sample, d time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	*to = append(*to, Sample{At: time.Since(r.start), D: d})
}

func (r *recorder) fail(err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.rec.Failures = append(r.rec.Failures, Failure{At: time.Since(r.start), Err: err.Error()})
}

// recording is a copy of what was recorded so far.
func (r *recorder) recording() *Recording {
	r.mu.Lock()
	defer r.mu.Unlock()
	c := r.rec
	c.Ping, c.PingClient, c.Probe = slices.Clone(c.Ping), slices.Clone(c.PingClient), slices.Clone(c.Probe)
	c.Request, c.Join, c.FirstJoin = slices.Clone(c.Request), slices.Clone(c.Join), slices.Clone(c.FirstJoin)
	c.SourceAdd, c.Failures = slices.Clone(c.SourceAdd), slices.Clone(c.Failures)
	return &c
}

// progressWindow is how far back the progress line's percentiles look.
const progressWindow = 10 * time.Second

// report writes a progress line every second until stopped: elapsed time,
// participants in session and their rate over the last second, the join
// p50/p99 of the last progressWindow, errors.
func (r *recorder) report(w io.Writer) (stop func()) {
	if w == nil {
		return func() {}
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		last := 0
		for {
			select {
			case <-done:
				return
			case <-tick.C:
				r.mu.Lock()
				now := time.Since(r.start)
				var recent []time.Duration
				for _, s := range slices.Backward(r.rec.Join) {
					if now-s.At > progressWindow {
						break
					}
					recent = append(recent, s.D)
				}
				n, errs := len(r.rec.Join)+len(r.rec.FirstJoin), len(r.rec.Failures)
				r.mu.Unlock()
				p := PercentilesOf(recent)
				fmt.Fprintf(w, "%6.1fs  in session %d (+%d/s)  join p50 %v p99 %v (last %v)  errors %d\n",
					now.Seconds(), n, n-last, p.P50.Round(time.Millisecond), p.P99.Round(time.Millisecond), progressWindow, errs)
				last = n
			}
		}
	}()
	return func() { close(done); wg.Wait() }
}

// cpuSampler records the CPU use of procs, and the server's unread input
// on ports, once a second until stopped.
type cpuSampler struct {
	done   chan struct{}
	wg     sync.WaitGroup
	series map[string][]float64
	unread map[string][]int64
}

func sampleCPU(procs map[string]int, ports []int) *cpuSampler {
	s := &cpuSampler{done: make(chan struct{}), series: map[string][]float64{}, unread: map[string][]int64{}}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		prev, at := cpuTimes(procs), time.Now()
		for {
			select {
			case <-s.done:
				return
			case now := <-tick.C:
				cur := cpuTimes(procs)
				for name, t := range cur {
					// A process gone (killed) reads 0: it used nothing since.
					s.series[name] = append(s.series[name], max(0, (t-prev[name]).Seconds()/now.Sub(at).Seconds()))
				}
				prev, at = cur, now
				if len(ports) > 0 {
					// Every sender gets a value each second, 0 when it
					// has nothing unread.
					by := unreadBytes(ports, procs)
					for name := range procs {
						s.unread[name] = append(s.unread[name], by[name])
					}
					s.unread["others"] = append(s.unread["others"], by["others"])
				}
			}
		}
	}()
	return s
}

// stop ends the sampling and returns the series.
func (s *cpuSampler) stop() (map[string][]float64, map[string][]int64) {
	close(s.done)
	s.wg.Wait()
	return s.series, s.unread
}
