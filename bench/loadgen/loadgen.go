// Package loadgen drives a focus with simulated Jitsi Meet participants —
// real XMPP clients through a real server — and measures what they see:
// conference-request and join latency against a ping baseline through the
// same server, throughput, errors, and the CPU each process spent.
package loadgen

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"
	"time"

	"focal/internal/testclient"
	"focal/media/sources"
	"focal/xmpp"
)

// Scenario is one run: Conferences rooms of Participants each, joining at
// Rate participants a second (0: all at once).
type Scenario struct {
	Addr      string // the server's c2s address
	Domain    string // the anonymous client domain
	Component string // the focus component
	MUC       string // the conference MUC service
	Prefix    string // room names are <prefix>-<n>

	Conferences  int
	Participants int
	Rate         float64
	// SourceAdd: once in session, each participant adds a source (a screen
	// share) and its answer is timed.
	SourceAdd bool
	// Processes whose CPU time the run accounts, by name (pid).
	Processes map[string]int
	// Progress gets a line a second (elapsed, in session, errors,
	// current join p50/p99); nil: none.
	Progress io.Writer
}

// Result is what a run measured.
type Result struct {
	Participants int `json:"participants"`
	InSession    int `json:"in_session"`
	Errors       int `json:"errors"`
	// ErrorSamples are the first errors, verbatim.
	ErrorSamples []string      `json:"error_samples,omitempty"`
	Elapsed      time.Duration `json:"elapsed_ns"`
	// Throughput is participants in session per second of the run.
	Throughput float64 `json:"throughput_per_s"`
	// Ping is the XEP-0199 round trip client → server, the baseline.
	Ping Percentiles `json:"ping"`
	// Request: conference request sent → answered ready.
	Request Percentiles `json:"request"`
	// Join: conference request sent → session-initiate received.
	Join Percentiles `json:"join"`
	// SourceAdd: source-add sent → answered.
	SourceAdd Percentiles `json:"source_add"`
	// CPUPer1000Joins: CPU seconds per 1,000 participants in session, by
	// process; "loadgen" is this process.
	CPUPer1000Joins map[string]float64 `json:"cpu_s_per_1000_joins"`
	// RSSGrowth: how much each process's resident memory grew during the
	// run, in bytes (the conferences and participants it now holds).
	RSSGrowth map[string]int64 `json:"rss_growth_bytes"`
}

// maxErrorSamples bounds Result.ErrorSamples.
const maxErrorSamples = 10

// Run runs s until every participant is in session (or failed), or ctx
// ends. Participants leave at the end.
func Run(ctx context.Context, s Scenario) (Result, error) {
	if s.Conferences <= 0 || s.Participants <= 0 {
		return Result{}, errors.New("loadgen: no participants")
	}
	procs := map[string]int{"loadgen": selfPID()}
	for name, pid := range s.Processes {
		procs[name] = pid
	}
	cpuBefore, rssBefore := cpuTimes(procs), rssOf(procs)
	rec := &recorder{}
	start := time.Now()
	stopProgress := rec.report(s.Progress, start)
	defer stopProgress()

	var wg sync.WaitGroup
	var clients []*testclient.Client
	var cmu sync.Mutex
	defer func() {
		for _, c := range clients {
			c.Close()
		}
	}()
	n := s.Conferences * s.Participants
	for i := range n {
		if s.Rate > 0 {
			due := start.Add(time.Duration(float64(i) / s.Rate * float64(time.Second)))
			select {
			case <-time.After(time.Until(due)):
			case <-ctx.Done():
			}
		}
		if ctx.Err() != nil {
			rec.fail(fmt.Errorf("participant %d not started: %w", i, ctx.Err()))
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := participate(ctx, s, i, rec)
			if c != nil {
				cmu.Lock()
				clients = append(clients, c)
				cmu.Unlock()
			}
			if err != nil {
				rec.fail(err)
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	res := rec.result(n, elapsed)
	res.CPUPer1000Joins, res.RSSGrowth = map[string]float64{}, map[string]int64{}
	for name, rss := range rssOf(procs) {
		res.RSSGrowth[name] = rss - rssBefore[name]
	}
	if res.InSession > 0 {
		after := cpuTimes(procs)
		for name, t := range after {
			res.CPUPer1000Joins[name] = (t - cpuBefore[name]).Seconds() * 1000 / float64(res.InSession)
		}
	}
	return res, nil
}

// participate is one participant: it connects, pings the server, asks
// for its conference, joins the room and waits for its session (its media
// endpoint accepts with a microphone and a simulcast camera), then adds a
// source if asked.
func participate(ctx context.Context, s Scenario, i int, rec *recorder) (*testclient.Client, error) {
	room := fmt.Sprintf("%s-%d@%s", s.Prefix, i/s.Participants, s.MUC)
	nick := fmt.Sprintf("p%d", i%s.Participants)
	c, err := testclient.Dial(ctx, testclient.Options{Addr: s.Addr, Domain: s.Domain})
	if err != nil {
		return nil, fmt.Errorf("%s %s: connect: %w", room, nick, err)
	}
	media := testclient.NewMedia(c, testclient.MediaOptions{Nick: nick, Simulcast: true, RTX: true})
	t0 := time.Now()
	if _, err := c.S.RequestWait(ctx, xmpp.NewIQ(xmpp.IQGet, "", s.Domain, "", xmpp.NewElement("urn:xmpp:ping", "ping"))); err != nil {
		return c, fmt.Errorf("%s %s: ping: %w", room, nick, err)
	}
	rec.add(&rec.ping, time.Since(t0))
	t1 := time.Now()
	for {
		res, err := c.RequestConference(ctx, s.Component, xmpp.ConferenceIQ{Room: room})
		if err != nil {
			return c, fmt.Errorf("%s %s: conference request: %w", room, nick, err)
		}
		if res.Ready {
			break
		}
		// As Jitsi Meet: again after a second; counted in the latency.
		select {
		case <-time.After(time.Second):
		case <-ctx.Done():
			return c, fmt.Errorf("%s %s: never ready: %w", room, nick, ctx.Err())
		}
	}
	rec.add(&rec.request, time.Since(t1))
	if _, err := c.Join(ctx, room, nick); err != nil {
		return c, fmt.Errorf("%s %s: join: %w", room, nick, err)
	}
	if s.Participants < 2 {
		return c, nil // alone: the focus invites nobody
	}
	if _, err := media.AwaitSession(ctx); err != nil {
		return c, fmt.Errorf("%s %s: no session-initiate: %w", room, nick, err)
	}
	rec.add(&rec.join, time.Since(t1))
	rec.inSession()
	if !s.SourceAdd {
		return c, nil
	}
	if err := media.AwaitAccepted(ctx); err != nil {
		return c, fmt.Errorf("%s %s: session-accept: %w", room, nick, err)
	}
	screen := sources.Set{Sources: []sources.Source{{SSRC: int64(3_000_000 + i), Media: sources.Video, Name: nick + "-v1", MSID: fmt.Sprintf("screen-%d v", i), VideoType: sources.VideoDesktop}}}
	t2 := time.Now()
	if err := media.SendSourceAdd(ctx, screen); err != nil {
		return c, fmt.Errorf("%s %s: source-add: %w", room, nick, err)
	}
	rec.add(&rec.sourceAdd, time.Since(t2))
	return c, nil
}

// recorder collects what participants measured.
type recorder struct {
	mu                             sync.Mutex
	ping, request, join, sourceAdd []time.Duration
	errors                         int
	samples                        []string
	sessions                       int
}

func (r *recorder) add(to *[]time.Duration, d time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	*to = append(*to, d)
}

func (r *recorder) inSession() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.sessions++
}

func (r *recorder) fail(err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errors++
	if len(r.samples) < maxErrorSamples {
		r.samples = append(r.samples, err.Error())
	}
}

func (r *recorder) result(n int, elapsed time.Duration) Result {
	r.mu.Lock()
	defer r.mu.Unlock()
	return Result{
		Participants: n,
		InSession:    r.sessions,
		Errors:       r.errors,
		ErrorSamples: slices.Clone(r.samples),
		Elapsed:      elapsed,
		Throughput:   float64(r.sessions) / elapsed.Seconds(),
		Ping:         percentilesOf(r.ping),
		Request:      percentilesOf(r.request),
		Join:         percentilesOf(r.join),
		SourceAdd:    percentilesOf(r.sourceAdd),
	}
}

// report writes a progress line every second until stopped.
func (r *recorder) report(w io.Writer, start time.Time) (stop func()) {
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
		for {
			select {
			case <-done:
				return
			case <-tick.C:
				r.mu.Lock()
				p := percentilesOf(r.join)
				fmt.Fprintf(w, "%6.1fs  in session %d  errors %d  join p50 %v p99 %v\n",
					time.Since(start).Seconds(), r.sessions, r.errors, p.P50, p.P99)
				r.mu.Unlock()
			}
		}
	}()
	return func() { close(done); wg.Wait() }
}
