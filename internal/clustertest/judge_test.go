package clustertest_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"focal/bench/bridgesim"
	"focal/internal/clustertest"
	"focal/media/sources"
	"focal/xmpp"
)

// The fault tests judge a cluster only by what participants and bridges
// receive, never by what nodes say about themselves: 3 nodes, 2 bridges,
// 12 conferences of two, and every 300 ms alice signals a new source in
// every conference, before, during and after a fault of node1. What is
// judged (the "done when" of the cluster-correctness issue):
//   - every source-add is answered exactly once (duplicates and missing
//     answers counted; error answers counted and reported);
//   - every accepted source reaches bob once, in his one Jingle session;
//   - the focus occupant never leaves a room (no unavailable presence);
//   - at the bridges, the conference-modify requests of a conference come
//     from one focus node at a time (see interleavings) and each source
//     appears on an endpoint once;
//   - no conference is lost: after the fault, each one answers, fans out
//     and updates its bridge.

const (
	faultConferences = 12
	loadInterval     = 300 * time.Millisecond
	// faultLength is how long a partition or a stall lasts.
	faultLength = 10 * time.Second
	// answerTimeout bounds the wait for a source-add's answer; a later
	// answer is still counted (it lands among the stanzas received).
	answerTimeout = time.Minute
	// serviceDeadline bounds the wait, after the fault, for every
	// conference to answer again.
	serviceDeadline = time.Minute
	// settleLoad is how long the load goes on once every conference
	// answers again: a node acting late (a handback, a stalled node
	// catching up) shows in it.
	settleLoad = 5 * time.Second
)

// sentIQ is one source-add (or source-remove) alice sent, and the first
// answer it got.
type sentIQ struct {
	room     string
	id       string
	remove   bool
	ssrc     int64   // the source added
	removed  []int64 // the sources removed
	sentAt   time.Time
	answerAt time.Time // zero until answered
	errCond  string    // condition of the first answer, if an error
	errText  string
	sendErr  error // not sent at all (no stream)
}

func (s sentIQ) describe() string {
	if s.remove {
		return fmt.Sprintf("source-remove %s (ssrcs %v, sent %s)", s.id, s.removed, s.sentAt.Format("15:04:05.000"))
	}
	return fmt.Sprintf("source-add %s (ssrc %d, sent %s)", s.id, s.ssrc, s.sentAt.Format("15:04:05.000"))
}

// load sends source-adds in every conference until stopped, and records
// them. A participant may have at most 20 sources (Jicofo's
// max-ssrcs-per-user), so each tick also removes the load's sources
// accepted before, as screen sharing on and off does.
type load struct {
	pairs []pair
	mu    sync.Mutex
	sent  []*sentIQ
	ssrc  int64
	live  map[string][]int64 // room → accepted load sources not yet removed
	stop  chan struct{}
	wg    sync.WaitGroup
}

// firstLoadSSRC is the first SSRC the load signals; those below are the
// participants' own.
const firstLoadSSRC = 3_000_000

func startLoad(pairs []pair) *load {
	l := &load{pairs: pairs, ssrc: firstLoadSSRC, live: map[string][]int64{}, stop: make(chan struct{})}
	for _, p := range pairs {
		l.wg.Go(func() {
			tick := time.NewTicker(loadInterval)
			defer tick.Stop()
			for {
				l.removeLive(p)
				l.send(p)
				select {
				case <-l.stop:
					return
				case <-tick.C:
				}
			}
		})
	}
	return l
}

// send has alice signal one new source, answered asynchronously.
func (l *load) send(p pair) *sentIQ {
	l.mu.Lock()
	l.ssrc++
	s := &sentIQ{room: p.room, ssrc: l.ssrc, sentAt: time.Now()}
	l.sent = append(l.sent, s)
	l.mu.Unlock()
	iq, err := p.alice.media.SourceAddIQ(newSource(s.ssrc, fmt.Sprintf("load%d", s.ssrc)))
	l.request(p, s, iq, err)
	return s
}

// removeLive has alice remove the load's sources accepted so far.
func (l *load) removeLive(p pair) {
	l.mu.Lock()
	gone := l.live[p.room]
	delete(l.live, p.room)
	if len(gone) == 0 {
		l.mu.Unlock()
		return
	}
	s := &sentIQ{room: p.room, remove: true, removed: gone, sentAt: time.Now()}
	l.sent = append(l.sent, s)
	l.mu.Unlock()
	var set sources.Set
	for _, ssrc := range gone {
		set = set.Union(newSource(ssrc, fmt.Sprintf("load%d", ssrc)))
	}
	iq, err := p.alice.media.SourceRemoveIQ(set)
	l.request(p, s, iq, err)
}

// request sends iq (built with err) for s and records its first answer.
func (l *load) request(p pair, s *sentIQ, iq *xmpp.Element, err error) {
	if err != nil {
		l.mu.Lock()
		s.sendErr = err
		l.mu.Unlock()
		return
	}
	l.mu.Lock()
	s.id = iq.AttrValue("id")
	l.mu.Unlock()
	p.alice.c.S.Request(iq, answerTimeout, func(el *xmpp.Element, err error) {
		l.mu.Lock()
		defer l.mu.Unlock()
		switch {
		case el != nil:
			s.answerAt = time.Now()
			if se, isErr := xmpp.ErrorOf(el); isErr {
				s.errCond, s.errText = se.Condition, se.Text
			} else if !s.remove {
				l.live[s.room] = append(l.live[s.room], s.ssrc)
			}
		case err != nil:
			// Not sent (no stream), or timed out: a late answer, if any,
			// is among the stanzas alice received.
			s.sendErr = err
		}
	})
}

func (l *load) halt() {
	close(l.stop)
	l.wg.Wait()
}

// snapshot copies the records.
func (l *load) snapshot() []sentIQ {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]sentIQ, len(l.sent))
	for i, s := range l.sent {
		out[i] = *s
	}
	return out
}

// servedSince says which rooms had a source-add sent at or after t answered
// with a result, and when the first such answer came.
func (l *load) servedSince(t time.Time) map[string]time.Time {
	out := map[string]time.Time{}
	for _, s := range l.snapshot() {
		if s.remove || s.sentAt.Before(t) || s.answerAt.IsZero() || s.errCond != "" {
			continue
		}
		if first, ok := out[s.room]; !ok || s.answerAt.Before(first) {
			out[s.room] = s.answerAt
		}
	}
	return out
}

// fault is what happens to node1 in a scenario. It returns when the fault
// began and when it ended (healed, continued; for a node that goes for
// good, the moment it went).
type fault func(ctx context.Context, t *testing.T, c *clustertest.Cluster, victim *clustertest.Node) (began, ended time.Time)

// verdict is what the judge counted.
type verdict struct {
	iqs, answeredOnce, duplicates, missing, notSent int
	errors                                          map[string]int
	deliveries, dupDeliveries, missingDeliveries    int
	bridgeDup, bridgeMissing                        int
	interleavings, handbacks                        int
	focusLeft, reinitiated, lost                    int
}

// judgeFault runs a scenario: conferences under load, the fault, the load
// on until every conference answers again, then the verdict: every count
// of what participants and bridges saw wrong must be zero.
func judgeFault(t *testing.T, name string, opts clustertest.Options, f fault) {
	opts.Nodes, opts.Bridges = 3, 2
	c, ctx, pairs := startPairs(t, opts, 3, faultConferences, name)
	victim := c.Node(0)
	owned, err := victim.OwnRooms(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(owned) == 0 {
		t.Fatalf("%s drives none of the conferences", victim.Name())
	}
	initial := map[string]string{} // room → the node that drove it before the fault
	d, err := drivers(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	for room, nodes := range d {
		initial[room] = nodes[0]
	}

	l := startLoad(pairs)
	halted := false
	defer func() {
		if !halted {
			l.halt()
		}
	}()
	// Warm: every conference answered since the load began.
	warm := time.Now()
	awaitLoadServed(ctx, t, l, warm, len(pairs))

	began, ended := f(ctx, t, c, victim)
	t.Logf("%s: fault on %s (which drove %d of %d conferences) from %s to %s", name, victim.Name(), len(owned), len(pairs),
		began.Format("15:04:05.000"), ended.Format("15:04:05.000"))

	// The load goes on until every conference answered a source-add sent
	// after the fault, then a little longer.
	served := awaitLoadServed(ctx, t, l, ended, len(pairs))
	var heal time.Duration
	for _, at := range served {
		heal = max(heal, at.Sub(ended))
	}
	select {
	case <-ctx.Done():
		t.Fatal(ctx.Err())
	case <-time.After(settleLoad):
	}
	l.halt()
	halted = true
	// Time without service is judged on the load alone, not on the final
	// requests below, which wait for every answer first.
	loadRecords := l.snapshot()

	// Zero lost conferences: each answers one more source-add, which bob
	// gets and a bridge receives. First every answer is in and alice's load
	// sources are removed: a long gap in service lets the load pile up more
	// sources than Jicofo's limit of 20 per participant, and the final one
	// would be refused for that.
	awaitAnswers(ctx, l, 20*time.Second)
	for _, p := range pairs {
		l.removeLive(p)
	}
	awaitAnswers(ctx, l, 20*time.Second)
	final := map[string]*sentIQ{}
	for _, p := range pairs {
		final[p.room] = l.send(p)
	}
	awaitAnswers(ctx, l, 20*time.Second)
	awaitFinal(ctx, c, pairs, l, final)

	v := judge(ctx, t, c, pairs, l, initial, ended, final)
	gaps := withoutService(loadRecords)
	var lines []string
	var worst time.Duration
	for _, p := range pairs {
		mark := ""
		if slices.Contains(owned, p.room) {
			mark = "*"
		}
		lines = append(lines, fmt.Sprintf("%s%s %v", strings.TrimPrefix(p.room[:strings.Index(p.room, "@")], name+"-"), mark, gaps[p.room].Round(10*time.Millisecond)))
		worst = max(worst, gaps[p.room])
	}
	t.Logf("%s: time without service per conference (* = driven by %s before): %s", name, victim.Name(), strings.Join(lines, ", "))
	t.Logf("%s: longest time without service %v; %d of %d conferences answered a source-add sent after the fault ended, all within %v of its end",
		name, worst.Round(10*time.Millisecond), len(served), len(pairs), heal.Round(10*time.Millisecond))
	t.Logf("%s: %d source-adds and -removes: %d answered once, %d answered more than once, %d never answered, %d not sent, errors %v; "+
		"deliveries to bob %d (%d duplicated, %d missing); bridge: %d sources duplicated, %d missing; "+
		"interleavings %d (handbacks %d); focus left %d times; Jingle sessions re-initiated %d; lost conferences %d",
		name, v.iqs, v.answeredOnce, v.duplicates, v.missing, v.notSent, v.errors, v.deliveries, v.dupDeliveries, v.missingDeliveries,
		v.bridgeDup, v.bridgeMissing, v.interleavings, v.handbacks, v.focusLeft, v.reinitiated, v.lost)
	check := func(what string, n int) {
		if n != 0 {
			t.Errorf("%s: %d %s, want none", name, n, what)
		}
	}
	check("IQs answered more than once", v.duplicates)
	check("IQs never answered", v.missing)
	check("sources delivered to bob more than once", v.dupDeliveries)
	check("accepted sources never delivered to bob", v.missingDeliveries)
	check("sources that reached a bridge more than once", v.bridgeDup)
	check("accepted sources that never reached a bridge", v.bridgeMissing)
	check("interleavings of focus nodes at the bridges", v.interleavings)
	check("unavailable presences of the focus", v.focusLeft)
	check("Jingle sessions re-initiated", v.reinitiated)
	check("lost conferences", v.lost)
}

// awaitLoadServed waits until n rooms had a source-add sent at or after since
// answered with a result, or serviceDeadline passed (the verdict then
// tells which were not).
func awaitLoadServed(ctx context.Context, t *testing.T, l *load, since time.Time, n int) map[string]time.Time {
	t.Helper()
	deadline := time.Now().Add(serviceDeadline)
	for {
		served := l.servedSince(since)
		if len(served) >= n || time.Now().After(deadline) {
			if len(served) < n {
				t.Logf("only %d of %d conferences answered within %v", len(served), n, serviceDeadline)
			}
			return served
		}
		select {
		case <-ctx.Done():
			t.Fatal(ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// awaitAnswers waits until every source-add sent has an answer, or for at
// most d.
func awaitAnswers(ctx context.Context, l *load, d time.Duration) {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		done := true
		for _, s := range l.snapshot() {
			if s.sendErr == nil && s.answerAt.IsZero() {
				done = false
				break
			}
		}
		if done {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// awaitFinal waits (20 s at most) until bob has every final source and a
// bridge received it.
func awaitFinal(ctx context.Context, c *clustertest.Cluster, pairs []pair, l *load, final map[string]*sentIQ) {
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		added := bridgeAdds(ctx, c)
		done := true
		for _, p := range pairs {
			s := final[p.room]
			if len(bobSSRCs(p)[s.ssrc]) == 0 || added[s.ssrc] == 0 {
				done = false
			}
		}
		if done {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// bobSSRCs counts, per SSRC, the source-adds bob received that carry it
// (the slice has one entry per delivery).
func bobSSRCs(p pair) map[int64][]bool {
	out := map[int64][]bool{}
	for _, el := range p.bob.c.Received() {
		if !xmpp.IsIQRequest(el) {
			continue
		}
		j := el.Child(xmpp.JingleNS, "jingle")
		if j == nil || xmpp.JingleAction(j.AttrValue("action")).Canonical() != xmpp.JingleSourceAdd {
			continue
		}
		seen := map[int64]bool{}
		walk(j, func(e *xmpp.Element) {
			if e.Name.Local != "source" {
				return
			}
			var ssrc int64
			if _, err := fmt.Sscan(e.AttrValue("ssrc"), &ssrc); err == nil && !seen[ssrc] {
				seen[ssrc] = true
				out[ssrc] = append(out[ssrc], true)
			}
		})
	}
	return out
}

func walk(e *xmpp.Element, f func(*xmpp.Element)) {
	f(e)
	for _, c := range e.Children {
		walk(c, f)
	}
}

// journals reads both bridges' request journals, in the order received
// (one bridgesim process: one clock).
func journals(ctx context.Context, c *clustertest.Cluster) []bridgesim.Request {
	var all []bridgesim.Request
	for i := range 2 {
		j, err := c.Bridge(i).Journal(ctx)
		if err != nil {
			continue
		}
		all = append(all, j...)
	}
	slices.SortStableFunc(all, func(a, b bridgesim.Request) int { return a.At.Compare(b.At) })
	return all
}

// bridgeAdds counts, per SSRC, the requests that made it appear on an
// endpoint.
func bridgeAdds(ctx context.Context, c *clustertest.Cluster) map[int64]int {
	out := map[int64]int{}
	for _, r := range journals(ctx, c) {
		for _, ssrc := range r.Added {
			out[ssrc]++
		}
	}
	return out
}

// judge counts what participants and bridges received.
func judge(ctx context.Context, t *testing.T, c *clustertest.Cluster, pairs []pair, l *load, initial map[string]string, ended time.Time, final map[string]*sentIQ) verdict {
	v := verdict{errors: map[string]int{}}
	sent := l.snapshot()
	byRoom := map[string]pair{}
	for _, p := range pairs {
		byRoom[p.room] = p
	}
	// Answers: the first reached the waiting request; any later one (a
	// duplicate, or an answer after the request timed out) is among the
	// stanzas alice received.
	late := map[string]int{}
	lateErr := map[string]string{}
	for _, p := range pairs {
		for _, el := range p.alice.c.Received() {
			if el.Name.Local != xmpp.KindIQ {
				continue
			}
			if typ := el.AttrValue("type"); typ == xmpp.IQResult || typ == xmpp.IQError {
				late[el.AttrValue("id")]++
				if se, ok := xmpp.ErrorOf(el); ok {
					lateErr[el.AttrValue("id")] = se.Condition
				}
			}
		}
	}
	accepted := map[int64]string{} // SSRC → room, of source-adds answered with a result
	for _, s := range sent {
		if s.id == "" {
			v.notSent++
			continue
		}
		v.iqs++
		answers := late[s.id]
		if !s.answerAt.IsZero() {
			answers++
		}
		switch {
		case answers == 0:
			v.missing++
			t.Logf("%s: %s never answered", s.room, s.describe())
		case answers == 1:
			v.answeredOnce++
		default:
			v.duplicates++
			t.Logf("%s: %s answered %d times (first %q, later %q)", s.room, s.describe(), answers, s.errCond, lateErr[s.id])
		}
		cond := s.errCond
		if s.answerAt.IsZero() {
			cond = lateErr[s.id]
		}
		if cond != "" {
			v.errors[cond]++
			t.Logf("%s: %s answered with an error: %s %q", s.room, s.describe(), cond, s.errText)
		} else if answers > 0 && !s.remove {
			accepted[s.ssrc] = s.room
		}
	}
	// Deliveries to bob.
	for _, p := range pairs {
		got := bobSSRCs(p)
		for ssrc, n := range got {
			if ssrc < firstLoadSSRC {
				continue
			}
			v.deliveries += len(n)
			if len(n) > 1 {
				v.dupDeliveries++
				t.Logf("%s: bob got source %d %d times", p.room, ssrc, len(n))
			}
		}
		for ssrc, room := range accepted {
			if room == p.room && len(got[ssrc]) == 0 {
				v.missingDeliveries++
				t.Logf("%s: bob never got accepted source %d", p.room, ssrc)
			}
		}
		if p.alice.media.Sessions() != 1 || p.bob.media.Sessions() != 1 {
			v.reinitiated += p.alice.media.Sessions() + p.bob.media.Sessions() - 2
		}
		for _, m := range []*participant{p.alice, p.bob} {
			for _, el := range m.c.Received() {
				if pr, ok := xmpp.ParseOccupantPresence(el); ok && pr.Room == p.room && pr.Nick == "focus" && pr.Unavailable {
					v.focusLeft++
					t.Logf("%s: %s saw the focus leave: %s", p.room, m.nick, el)
				}
			}
		}
	}
	// The bridges.
	journal := journals(ctx, c)
	adds := map[int64]int{}
	for _, r := range journal {
		for _, ssrc := range r.Added {
			adds[ssrc]++
		}
	}
	for ssrc, n := range adds {
		if ssrc >= firstLoadSSRC && n > 1 {
			v.bridgeDup++
			t.Logf("%s: source %d appeared on a bridge %d times", accepted[ssrc], ssrc, n)
		}
	}
	for ssrc, room := range accepted {
		if adds[ssrc] == 0 {
			v.bridgeMissing++
			t.Logf("%s: accepted source %d never reached a bridge", room, ssrc)
		}
	}
	v.interleavings, v.handbacks = interleavings(t, journal, initial, ended)
	// Lost: the final source-add not answered with a result, not fanned
	// out, or not at a bridge.
	for room, s := range final {
		var got sentIQ
		for _, x := range sent {
			if x.id == s.id && x.id != "" {
				got = x
			}
		}
		if got.answerAt.IsZero() || got.errCond != "" || len(bobSSRCs(byRoom[room])[s.ssrc]) == 0 || adds[s.ssrc] == 0 {
			v.lost++
			t.Logf("%s: lost: final source-add answered %v (%q %q), delivered %d, at a bridge %d", room, !got.answerAt.IsZero(), got.errCond, got.errText,
				len(bobSSRCs(byRoom[room])[s.ssrc]), adds[s.ssrc])
		}
	}
	return v
}

// interleavings counts, per conference, the runs of requests from a focus
// node that had already sent for it before another did: once node B sent
// for a conference, node A must not send again, with one exception, the
// handback: after the fault ended, the node that drove the conference
// before it may take it back, once.
func interleavings(t *testing.T, journal []bridgesim.Request, initial map[string]string, ended time.Time) (bad, handbacks int) {
	type run struct {
		node string
		at   time.Time
	}
	runs := map[string][]run{}
	for _, r := range journal {
		if r.Room == "" {
			continue
		}
		node := senderOf(t, r)
		rs := runs[r.Room]
		if len(rs) == 0 || rs[len(rs)-1].node != node {
			runs[r.Room] = append(rs, run{node, r.At})
		}
	}
	for room, rs := range runs {
		seen := map[string]bool{}
		handedBack := false
		var path []string
		for _, r := range rs {
			path = append(path, r.node+"@"+r.at.Format("05.000"))
			if seen[r.node] {
				if !handedBack && r.at.After(ended) && strings.HasSuffix(r.node, "-"+initial[room]) {
					handedBack = true
					handbacks++
					continue
				}
				bad++
				t.Logf("%s: %s sent for the conference again after another node did", room, r.node)
			}
			seen[r.node] = true
		}
		if len(rs) > 1 {
			t.Logf("%s: colibri2 senders %s", room, strings.Join(path, " → "))
		}
		if len(rs) > 3 {
			// Interleaved: the requests themselves, for the logs.
			var lines []string
			for _, r := range journal {
				if r.Room == room {
					lines = append(lines, fmt.Sprintf("%s %s +%v -%v %s", r.At.Format("15:04:05.000"), senderOf(t, r), r.Added, r.Removed, r.Error))
				}
			}
			t.Logf("%s: colibri2 requests:\n\t%s", room, strings.Join(lines, "\n\t"))
		}
	}
	return bad, handbacks
}

// senderOf is the focus node that sent a request, as its id names it
// (the node's resource, then "-"): a conference's requests leave on its
// shard session, whose address stays the same whichever node holds it.
func senderOf(t *testing.T, r bridgesim.Request) string {
	t.Helper()
	if strings.Contains(r.From, "@internal.auth.") {
		t.Errorf("a request to a bridge from the brewery occupant %s, not from the conference's shard session (id %s)", r.From, r.ID)
	}
	i := strings.LastIndex(r.ID, "-")
	if i <= 0 || !strings.HasPrefix(r.ID, "focal-node") {
		t.Errorf("a request to a bridge whose id %q names no focus node (from %s)", r.ID, r.From)
		return r.From
	}
	return r.ID[:i]
}

// withoutService is, per room, the longest time between two successive
// result answers to source-adds.
func withoutService(sent []sentIQ) map[string]time.Duration {
	answers := map[string][]time.Time{}
	for _, s := range sent {
		if !s.remove && !s.answerAt.IsZero() && s.errCond == "" {
			answers[s.room] = append(answers[s.room], s.answerAt)
		}
	}
	out := map[string]time.Duration{}
	for room, ts := range answers {
		slices.SortFunc(ts, func(a, b time.Time) int { return a.Compare(b) })
		for i := 1; i < len(ts); i++ {
			out[room] = max(out[room], ts[i].Sub(ts[i-1]))
		}
	}
	return out
}
