// Package loadgen drives a focus with simulated Jitsi Meet participants —
// real XMPP clients through a real server — and measures what they see:
// conference-request and join latency against a ping baseline through the
// same server, throughput, errors, and the CPU and memory each process
// spent. One process or several (Scenario.Shard) can drive one run.
package loadgen

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"
	"time"

	"focal/internal/testclient"
	"focal/media/sources"
	"focal/xmpp"
)

// Scenario is one run: Conferences rooms of Participants each, joining at
// Rate participants a second (0: all at once).
//
// A join storm is Conferences × Participants at a rate; steady churn is the
// same with Hold (every participant leaves Hold after it got in, so about
// Rate × Hold are in at any time); one big room is one conference.
type Scenario struct {
	Addr      string // the server's c2s address
	Domain    string // the anonymous client domain
	Component string // the focus component
	MUC       string // the conference MUC service
	Prefix    string // room names are <prefix>-<n>, unless Rooms
	// Rooms, when set, name the conferences' rooms (local parts), one per
	// conference, for instance rooms chosen for their placement.
	Rooms []string
	// FirstNick numbers the participants' nicks of each room from it
	// (p<FirstNick>, …), so that a second run can add participants to the
	// rooms of a first.
	FirstNick int
	// HTTP, when set, are focus nodes' HTTP API addresses (host:port):
	// conference requests go to them (POST /conference-request/v1, one
	// after the other by participant) instead of over XMPP.
	HTTP []string

	Conferences  int
	Participants int
	Rate         float64
	// SourceAdd: once in session, each participant adds a source (a screen
	// share) and its answer is timed.
	SourceAdd bool
	// NoCaps: participants join without announcing capabilities (XEP-0115),
	// so the focus asks each for its features; by default they announce
	// them, as lib-jitsi-meet does.
	NoCaps bool
	// JSONSources: participants advertise json-encoded-sources, as
	// lib-jitsi-meet does, so the focus tells them of the others' sources
	// in compact JSON instead of ssma elements.
	JSONSources bool
	// ConnectOnly: participants connect, ping and leave, joining nothing:
	// what the server's part of a join costs before the focus is involved
	// (TLS, SASL, binding).
	ConnectOnly bool
	// Patience bounds each participant's way in, from connecting to its
	// source-add answered (default DefaultPatience): past it, the
	// participant counts as an error (lost conference, missing
	// session-initiate or unanswered request, as the error says).
	Patience time.Duration
	// Hold, when set, is how long each participant stays once in session
	// (and its source-add answered) before it leaves the room.
	Hold time.Duration
	// Shard makes this process drive only participant i with
	// i % Shard.Count == Shard.Index; several processes with the same Start
	// then drive one run between them (see Spread).
	Shard Shard
	// Start is when participant 0 is due (zero: now); participant i is due
	// i/Rate seconds later.
	Start time.Time
	// Probe, when set, makes one more client ping the server at this
	// interval through the run: the server's own delay over time, next to
	// the joins (only the generator of Shard.Index 0 probes).
	Probe time.Duration
	// ServerPorts, when set, are the server's local TCP ports (c2s,
	// component): the bytes its clients sent that it has not read yet are
	// sampled every second (Recording.Unread).
	ServerPorts []int
	// Processes whose CPU time and memory the run accounts, by name (pid);
	// this process is always accounted, as "loadgen".
	Processes map[string]int
	// Progress gets a line a second (elapsed, in session, rate, current
	// join p50/p99, errors); nil: none.
	Progress io.Writer
}

// room is conference k's room JID.
func (s Scenario) room(k int) string {
	if k < len(s.Rooms) {
		return s.Rooms[k] + "@" + s.MUC
	}
	return fmt.Sprintf("%s-%d@%s", s.Prefix, k, s.MUC)
}

// DefaultPatience is Scenario.Patience's default: longer than any wait a
// person would sit through.
const DefaultPatience = time.Minute

// Shard is one generator process's part of a run.
type Shard struct {
	Index, Count int
}

func (s Shard) drives(i int) bool { return s.Count <= 1 || i%s.Count == s.Index }

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
	// PingClient is the round trip client → client: a ping to the
	// client's own full JID, which the server routes to the client and its
	// answer back (as a stanza between two participants goes).
	PingClient Percentiles `json:"ping_client"`
	// Request: conference request sent → answered ready.
	Request Percentiles `json:"request"`
	// Join: conference request sent → session-initiate received, for
	// every participant but the first of its conference: what joining a
	// conference in progress takes.
	Join Percentiles `json:"join"`
	// FirstJoin: the same for the first participant of each conference,
	// which includes waiting for a second one (the focus invites nobody
	// alone).
	FirstJoin Percentiles `json:"first_join"`
	// SourceAdd: source-add sent → answered.
	SourceAdd Percentiles `json:"source_add"`
	// CPUPer1000Joins: CPU seconds per 1,000 participants in session, by
	// process; "loadgen" is the generator (all its processes).
	CPUPer1000Joins map[string]float64 `json:"cpu_s_per_1000_joins"`
	// RSSGrowth: how much each process's resident memory grew during the
	// run, in bytes (the conferences and participants it now holds).
	RSSGrowth map[string]int64 `json:"rss_growth_bytes"`
	// Recording is the raw material (samples, failures, CPU series), for
	// reports.
	Recording *Recording `json:"recording,omitempty"`
}

// maxErrorSamples bounds Result.ErrorSamples.
const maxErrorSamples = 10

// Run runs s until every participant is in session (and, with Hold, has
// left again) or failed, or ctx ends. Participants still in leave at the
// end.
func Run(ctx context.Context, s Scenario) (Result, error) {
	rec, members, err := record(ctx, s)
	closeAll(members)
	if err != nil {
		return Result{}, err
	}
	return ResultOf(rec), nil
}

// RunHeld is Run, but once every participant is in session (or failed)
// it calls held with the result, and the participants leave only when
// held returns: for measuring what a server holds while they are in.
func RunHeld(ctx context.Context, s Scenario, held func(Result)) (Result, error) {
	rec, members, err := record(ctx, s)
	if err != nil {
		closeAll(members)
		return Result{}, err
	}
	res := ResultOf(rec)
	held(res)
	closeAll(members)
	return res, nil
}

// Record is Run for one process of several (Scenario.Shard): it returns
// the raw recording, to be merged with the others'.
func Record(ctx context.Context, s Scenario) (*Recording, error) {
	rec, members, err := record(ctx, s)
	closeAll(members)
	return rec, err
}

// record runs s and returns what it measured and the participants still
// connected (left to the caller to close).
func record(ctx context.Context, s Scenario) (*Recording, []*member, error) {
	if s.Conferences <= 0 || s.Participants <= 0 {
		return nil, nil, errors.New("loadgen: no participants")
	}
	procs := map[string]int{"loadgen": selfPID()}
	for name, pid := range s.Processes {
		procs[name] = pid
	}
	start := s.Start
	if start.IsZero() {
		start = time.Now()
	}
	n := s.Conferences * s.Participants
	mine := 0
	for i := range n {
		if s.Shard.drives(i) {
			mine++
		}
	}
	cpuBefore, rssBefore := cpuTimes(procs), rssOf(procs)
	sampler := sampleCPU(procs, s.ServerPorts)
	rec := newRecorder(start, mine)
	stopProgress := rec.report(s.Progress)
	stopProbe := func() {}
	if s.Probe > 0 && s.Shard.Index == 0 {
		stopProbe = probe(ctx, s, rec)
	}

	var wg sync.WaitGroup
	var members []*member
	var mu sync.Mutex
	for i := range n {
		if !s.Shard.drives(i) {
			continue
		}
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
			m, err := participate(ctx, s, i, rec)
			if err != nil {
				rec.fail(err)
			}
			if m != nil {
				mu.Lock()
				members = append(members, m)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	stopProbe()
	stopProgress()
	out := rec.recording()
	out.Elapsed = time.Since(start)
	out.CPUSeries, out.Unread = sampler.stop()
	out.CPU, out.RSSGrowth = map[string]time.Duration{}, map[string]int64{}
	for name, t := range cpuTimes(procs) {
		out.CPU[name] = max(0, t-cpuBefore[name])
	}
	for name, rss := range rssOf(procs) {
		out.RSSGrowth[name] = rss - rssBefore[name]
	}
	slices.SortFunc(members, func(a, b *member) int { return a.index - b.index })
	for _, m := range members {
		for _, a := range m.media.Actions() {
			if a == xmpp.JingleSourceAdd || a == xmpp.JingleSourceRemove {
				out.SourceSignals++
			}
		}
	}
	return out, members, nil
}

// ResultOf summarises a recording (merged, if several processes made it).
func ResultOf(rec *Recording) Result {
	res := Result{
		Participants:    rec.Participants,
		InSession:       len(rec.Join) + len(rec.FirstJoin),
		Errors:          len(rec.Failures),
		Elapsed:         rec.Elapsed,
		Ping:            PercentilesOf(durations(rec.Ping)),
		PingClient:      PercentilesOf(durations(rec.PingClient)),
		Request:         PercentilesOf(durations(rec.Request)),
		Join:            PercentilesOf(durations(rec.Join)),
		FirstJoin:       PercentilesOf(durations(rec.FirstJoin)),
		SourceAdd:       PercentilesOf(durations(rec.SourceAdd)),
		CPUPer1000Joins: map[string]float64{},
		RSSGrowth:       rec.RSSGrowth,
		Recording:       rec,
	}
	if rec.Elapsed > 0 {
		res.Throughput = float64(res.InSession) / rec.Elapsed.Seconds()
	}
	for _, f := range rec.Failures {
		if len(res.ErrorSamples) == maxErrorSamples {
			break
		}
		res.ErrorSamples = append(res.ErrorSamples, f.Err)
	}
	// Per participant in session; a run that puts nobody in session
	// (ConnectOnly) counts per participant connected.
	if n := max(res.InSession, len(rec.Ping)*boolInt(res.InSession == 0)); n > 0 {
		for name, t := range rec.CPU {
			res.CPUPer1000Joins[name] = t.Seconds() * 1000 / float64(n)
		}
	}
	return res
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func durations(ss []Sample) []time.Duration {
	out := make([]time.Duration, len(ss))
	for i, s := range ss {
		out[i] = s.D
	}
	return out
}

// member is a participant in its conference.
type member struct {
	index int
	room  string
	nick  string
	c     *testclient.Client
	media *testclient.Media
}

func closeAll(ms []*member) {
	var wg sync.WaitGroup
	for _, m := range ms {
		wg.Add(1)
		go func() { defer wg.Done(); m.c.Close() }()
	}
	wg.Wait()
}

// participate is one participant: it connects, pings the server and
// itself (the baselines), asks
// for its conference, joins the room and waits for its session (its media
// endpoint accepts with a microphone and a simulcast camera), then adds a
// source if asked, and leaves after Hold if set. It returns the member
// while it is still connected.
func participate(ctx context.Context, s Scenario, i int, rec *recorder) (*member, error) {
	m := &member{index: i, room: s.room(i / s.Participants), nick: fmt.Sprintf("p%d", s.FirstNick+i%s.Participants)}
	patience := s.Patience
	if patience <= 0 {
		patience = DefaultPatience
	}
	outer := ctx
	ctx, cancel := context.WithTimeout(ctx, patience)
	defer cancel()
	c, err := testclient.Dial(ctx, testclient.Options{Addr: s.Addr, Domain: s.Domain})
	if err != nil {
		return nil, fmt.Errorf("%s %s: connect: %w", m.room, m.nick, err)
	}
	m.c = c
	m.media = testclient.NewMedia(c, testclient.MediaOptions{Nick: m.nick, Simulcast: true, RTX: true, JSONSources: s.JSONSources})
	t0 := time.Now()
	if _, err := c.S.RequestWait(ctx, xmpp.NewIQ(xmpp.IQGet, "", s.Domain, "", xmpp.NewElement("urn:xmpp:ping", "ping"))); err != nil {
		return m, fmt.Errorf("%s %s: ping: %w", m.room, m.nick, err)
	}
	rec.add(&rec.rec.Ping, time.Since(t0))
	t0 = time.Now()
	if _, err := c.S.RequestWait(ctx, xmpp.NewIQ(xmpp.IQGet, "", c.JID(), "", xmpp.NewElement("urn:xmpp:ping", "ping"))); err != nil {
		return m, fmt.Errorf("%s %s: ping to itself: %w", m.room, m.nick, err)
	}
	rec.add(&rec.rec.PingClient, time.Since(t0))
	if s.ConnectOnly {
		return m, nil
	}
	t1 := time.Now()
	if err := requestUntilReady(ctx, s, i, m); err != nil {
		return m, err
	}
	rec.add(&rec.rec.Request, time.Since(t1))
	if err := m.joinAndAwaitSession(ctx, s); err != nil {
		return m, err
	}
	if i%s.Participants == 0 {
		rec.add(&rec.rec.FirstJoin, time.Since(t1))
	} else {
		rec.add(&rec.rec.Join, time.Since(t1))
	}
	if s.SourceAdd {
		t2 := time.Now()
		if err := m.addScreen(ctx, int64(3_000_000+s.FirstNick*1_000_000+i)); err != nil {
			return m, err
		}
		rec.add(&rec.rec.SourceAdd, time.Since(t2))
	}
	if s.Hold <= 0 {
		return m, nil
	}
	select {
	case <-time.After(s.Hold):
	case <-outer.Done():
		return m, fmt.Errorf("%s %s: still in at the end: %w", m.room, m.nick, outer.Err())
	}
	ctx, cancel = context.WithTimeout(outer, patience)
	defer cancel()
	if err := c.Leave(m.room, m.nick); err != nil {
		return m, fmt.Errorf("%s %s: leave: %w", m.room, m.nick, err)
	}
	// Gone once the room says so, as a page waits before it unloads.
	if _, err := c.AwaitPresence(ctx, m.room, func(p xmpp.OccupantPresence) bool { return p.Self && p.Unavailable }); err != nil {
		return m, fmt.Errorf("%s %s: leave not confirmed: %w", m.room, m.nick, err)
	}
	c.Close()
	return nil, nil
}

// requestUntilReady asks for m's conference until the focus answers ready
// (as Jitsi Meet: again a second after ready='false', which the latency
// includes).
func requestUntilReady(ctx context.Context, s Scenario, i int, m *member) error {
	for {
		var ready bool
		var err error
		if len(s.HTTP) > 0 {
			ready, err = requestOverHTTP(ctx, s.HTTP[i%len(s.HTTP)], m.room)
		} else {
			var res xmpp.ConferenceIQ
			res, err = m.c.RequestConference(ctx, s.Component, xmpp.ConferenceIQ{Room: m.room})
			ready = res.Ready
		}
		if err != nil {
			return fmt.Errorf("%s %s: conference request: %w", m.room, m.nick, err)
		}
		if ready {
			return nil
		}
		select {
		case <-time.After(time.Second):
		case <-ctx.Done():
			return fmt.Errorf("%s %s: never ready: %w", m.room, m.nick, ctx.Err())
		}
	}
}

// joinAndAwaitSession enters the room and waits for the focus's
// session-initiate (a participant alone is invited by nobody).
func (m *member) joinAndAwaitSession(ctx context.Context, s Scenario) error {
	var extra []*xmpp.Element
	if !s.NoCaps {
		extra = append(extra, m.media.Caps())
	}
	if _, err := m.c.Join(ctx, m.room, m.nick, extra...); err != nil {
		return fmt.Errorf("%s %s: join: %w", m.room, m.nick, err)
	}
	if s.Participants < 2 {
		return nil
	}
	if _, err := m.media.AwaitSession(ctx); err != nil {
		return fmt.Errorf("%s %s: no session-initiate: %w", m.room, m.nick, err)
	}
	return nil
}

// addScreen waits until the session is accepted and signals a screen
// share with ssrc, waiting for the focus's answer.
func (m *member) addScreen(ctx context.Context, ssrc int64) error {
	if err := m.media.AwaitAccepted(ctx); err != nil {
		return fmt.Errorf("%s %s: session-accept: %w", m.room, m.nick, err)
	}
	screen := sources.Set{Sources: []sources.Source{{SSRC: ssrc, Media: sources.Video, Name: fmt.Sprintf("%s-v%d", m.nick, ssrc), MSID: fmt.Sprintf("screen-%d v", ssrc), VideoType: sources.VideoDesktop}}}
	if err := m.media.SendSourceAdd(ctx, screen); err != nil {
		return fmt.Errorf("%s %s: source-add: %w", m.room, m.nick, err)
	}
	return nil
}

// httpClient keeps enough connections to each node for a burst.
var httpClient = &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}

// probe pings the server every s.Probe until stopped, recording each
// round trip; a ping that fails ends the probe and counts as an error.
func probe(ctx context.Context, s Scenario, rec *recorder) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		c, err := testclient.Dial(ctx, testclient.Options{Addr: s.Addr, Domain: s.Domain})
		if err != nil {
			if ctx.Err() == nil {
				rec.fail(fmt.Errorf("probe: connect: %w", err))
			}
			return
		}
		defer c.Close()
		tick := time.NewTicker(s.Probe)
		defer tick.Stop()
		for {
			t0 := time.Now()
			if _, err := c.S.RequestWait(ctx, xmpp.NewIQ(xmpp.IQGet, "", s.Domain, "", xmpp.NewElement("urn:xmpp:ping", "ping"))); err != nil {
				if ctx.Err() == nil {
					rec.fail(fmt.Errorf("probe: ping: %w", err))
				}
				return
			}
			rec.add(&rec.rec.Probe, time.Since(t0))
			select {
			case <-tick.C:
			case <-ctx.Done():
				return
			}
		}
	}()
	return func() { cancel(); <-done }
}
