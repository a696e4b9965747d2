package bridgesim_test

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"focal/bench/bridgesim"
	"focal/internal/prosodytest"
	"focal/media/sources"
	"focal/xmpp"
	"focal/xmpp/session"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// waitTimeout bounds every wait for something that should happen at once.
const waitTimeout = 10 * time.Second

func waitCtx(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	t.Cleanup(cancel)
	return ctx
}

func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
}

// env is a private Prosody with an observer in the brewery, logged in as the
// focus account, the way a focus watches and drives bridges.
type env struct {
	srv     *prosodytest.Server
	brewery string
	obs     *observer
}

func newEnv(t *testing.T) *env {
	t.Helper()
	srv := prosodytest.Start(t, prosodytest.Options{})
	e := &env{srv: srv, brewery: "jvbbrewery@" + srv.BreweryDomain()}
	e.obs = dialObserver(t, srv, e.brewery)
	return e
}

func (e *env) config(nick string, stats bridgesim.Stats, t *testing.T) bridgesim.Config {
	return bridgesim.Config{
		Addr: e.srv.C2SAddr, Domain: e.srv.AuthDomain(), User: "jvb", Password: e.srv.JVBPassword,
		Brewery: e.brewery, Nick: nick, Stats: stats, Logger: testLogger(t),
	}
}

// bridge starts a bridge logged in as the shared jvb account.
func (e *env) bridge(t *testing.T, nick string, stats bridgesim.Stats) *bridgesim.Bridge {
	t.Helper()
	b := bridgesim.New(e.config(nick, stats, t))
	if err := b.Start(waitCtx(t)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Stop)
	return b
}

// observer is a focus-like client in the brewery that records every stanza.
type observer struct {
	s       *session.Session
	mu      sync.Mutex
	got     []*xmpp.Element
	changed chan struct{}
}

func dialObserver(t *testing.T, srv *prosodytest.Server, brewery string) *observer {
	t.Helper()
	o := &observer{changed: make(chan struct{})}
	o.s = session.New(session.Config{
		Name: "observer",
		Dial: session.ClientDialer(session.ClientOptions{
			Addr:     srv.C2SAddr,
			JID:      "focus@" + srv.AuthDomain() + "/observer",
			Password: srv.FocusPassword,
			TLS:      &tls.Config{ServerName: srv.AuthDomain(), InsecureSkipVerify: true},
		}),
		Handler: o.record,
		Logger:  testLogger(t),
	})
	ctx, cancel := context.WithCancel(context.Background())
	go o.s.Run(ctx)
	t.Cleanup(func() {
		cancel()
		<-o.s.Done()
	})
	if err := o.s.WaitUp(waitCtx(t)); err != nil {
		t.Fatalf("observer login: %v", err)
	}
	if err := o.s.Send(xmpp.JoinPresence(brewery, "focus")); err != nil {
		t.Fatal(err)
	}
	if _, err := o.awaitPresence(waitCtx(t), "focus", func(p xmpp.OccupantPresence) bool { return p.Self }); err != nil {
		t.Fatalf("observer join: %v", err)
	}
	return o
}

func (o *observer) record(el *xmpp.Element) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.got = append(o.got, el)
	close(o.changed)
	o.changed = make(chan struct{})
}

// await returns the first stanza received since from (an index into what
// was received) that match accepts, and the index after it.
func (o *observer) await(ctx context.Context, from int, match func(*xmpp.Element) bool) (*xmpp.Element, int, error) {
	for {
		o.mu.Lock()
		got, changed := o.got, o.changed
		o.mu.Unlock()
		for i := from; i < len(got); i++ {
			if match(got[i]) {
				return got[i], i + 1, nil
			}
		}
		from = len(got)
		select {
		case <-changed:
		case <-ctx.Done():
			return nil, from, ctx.Err()
		}
	}
}

// mark is the index of the next stanza to be received.
func (o *observer) mark() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return len(o.got)
}

func (o *observer) awaitPresence(ctx context.Context, nick string, match func(xmpp.OccupantPresence) bool) (xmpp.OccupantPresence, error) {
	return o.awaitPresenceFrom(ctx, 0, nick, match)
}

func (o *observer) awaitPresenceFrom(ctx context.Context, from int, nick string, match func(xmpp.OccupantPresence) bool) (xmpp.OccupantPresence, error) {
	var found xmpp.OccupantPresence
	_, _, err := o.await(ctx, from, func(el *xmpp.Element) bool {
		p, ok := xmpp.ParseOccupantPresence(el)
		if ok && p.Nick == nick && match(p) {
			found = p
			return true
		}
		return false
	})
	if err != nil {
		return found, fmt.Errorf("presence of %s: %w", nick, err)
	}
	return found, nil
}

// request sends payload to the bridge in an IQ get, as a focus does, and
// returns the response stanza (also for errors) and the error.
func (o *observer) request(t *testing.T, b *bridgesim.Bridge, payload *xmpp.Element) (*xmpp.Element, error) {
	t.Helper()
	return o.s.RequestWait(waitCtx(t), xmpp.NewIQ(xmpp.IQGet, "", b.JID(), "", payload))
}

// modify sends a conference-modify built from mod.
func (o *observer) modify(t *testing.T, b *bridgesim.Bridge, mod xmpp.Colibri2ConferenceModify) (*xmpp.Element, error) {
	t.Helper()
	el, err := xmpp.ElementOf(mod)
	if err != nil {
		t.Fatal(err)
	}
	return o.request(t, b, el)
}

// mustModify sends mod and returns the decoded conference-modified.
func (o *observer) mustModify(t *testing.T, b *bridgesim.Bridge, mod xmpp.Colibri2ConferenceModify) xmpp.Colibri2ConferenceModified {
	t.Helper()
	res, err := o.modify(t, b, mod)
	if err != nil {
		t.Fatalf("conference-modify %s: %v", mod.MeetingID, err)
	}
	return decodeModified(t, res, mod.MeetingID)
}

func decodeModified(t *testing.T, res *xmpp.Element, meetingID string) xmpp.Colibri2ConferenceModified {
	t.Helper()
	el := res.Child(xmpp.Colibri2NS, "conference-modified")
	if el == nil {
		t.Fatalf("no conference-modified in %s", res)
	}
	if got := el.AttrValue("meeting-id"); got != meetingID {
		t.Errorf("conference-modified meeting-id = %q, want %q", got, meetingID)
	}
	var out xmpp.Colibri2ConferenceModified
	if err := el.Decode(&out); err != nil {
		t.Fatal(err)
	}
	return out
}

// colibriError decodes the stanza error of a failed conference-modify.
func colibriError(t *testing.T, res *xmpp.Element, err error) xmpp.Colibri2StanzaError {
	t.Helper()
	if err == nil {
		t.Fatalf("request succeeded: %s", res)
	}
	if res == nil {
		t.Fatalf("request failed without a response: %v", err)
	}
	var se xmpp.Colibri2StanzaError
	if err := res.Child("", "error").Decode(&se); err != nil {
		t.Fatal(err)
	}
	return se
}

var meetingSeq sync.Mutex
var meetingN int

func newMeetingID() string {
	meetingSeq.Lock()
	defer meetingSeq.Unlock()
	meetingN++
	return fmt.Sprintf("0000%04d-aaaa-4bbb-8ccc-dddddddddddd", meetingN)
}

// createMod creates a conference with endpoints, each asking for SCTP.
func createMod(meetingID string, endpoints ...string) xmpp.Colibri2ConferenceModify {
	mod := xmpp.Colibri2ConferenceModify{MeetingID: meetingID, Name: "room-" + meetingID + "@conference.meet.jitsi", Create: true}
	for _, id := range endpoints {
		mod.Endpoints = append(mod.Endpoints, xmpp.Colibri2Endpoint{
			ID: id, Create: true, StatsID: "stats-" + id,
			Transport: &xmpp.Colibri2Transport{ICEControlling: true, SCTP: &xmpp.Colibri2SCTP{}},
		})
	}
	return mod
}

// TestBridgeSim runs every scenario against one private Prosody; each
// scenario uses its own bridge nicknames, so they do not see each other.
func TestBridgeSim(t *testing.T) {
	e := newEnv(t)
	for _, sc := range []struct {
		name string
		run  func(*testing.T, *env)
	}{
		{"PresenceCarriesStats", testPresenceCarriesStats},
		{"SetStatsRepublishes", testSetStatsRepublishes},
		{"Colibri2Lifecycle", testColibri2Lifecycle},
		{"Colibri2ConferenceExpire", testColibri2ConferenceExpire},
		{"Colibri2Errors", testColibri2Errors},
		{"OtherIQs", testOtherIQs},
		{"HangAndResume", testHangAndResume},
		{"DieAndRestart", testDieAndRestart},
		{"LeaveAndRejoin", testLeaveAndRejoin},
		{"ControlHTTP", testControlHTTP},
		{"Journal", testJournal},
	} {
		t.Run(sc.name, func(t *testing.T) { sc.run(t, e) })
	}
}

func testPresenceCarriesStats(t *testing.T, e *env) {
	stats := bridgesim.Stats{
		StressLevel: 0.25, AverageParticipantStress: 0.01, Region: "eu-west", RelayID: "relay-1",
		Version: "2.3.99", Drain: true,
	}
	// Two bridges on one account, as the binary runs them.
	e.bridge(t, "jvb1", stats)
	e.bridge(t, "jvb2", bridgesim.Stats{})
	want := map[string]map[string]string{
		"jvb1": {
			"stress_level": "0.25", "average_participant_stress": "0.01", "region": "eu-west",
			"relay_id": "relay-1", "version": "2.3.99", "drain": "true", "graceful_shutdown": "false",
			"shutting_down": "false", "healthy": "true",
		},
		"jvb2": {
			"stress_level": "0", "average_participant_stress": "0", "drain": "false",
			"graceful_shutdown": "false", "shutting_down": "false", "healthy": "true",
		},
	}
	for nick, wantStats := range want {
		p, err := e.obs.awaitPresence(waitCtx(t), nick, func(p xmpp.OccupantPresence) bool { return !p.Unavailable })
		if err != nil {
			t.Fatal(err)
		}
		got, ok := xmpp.ParseStats(p.Stanza)
		if !ok {
			t.Fatalf("%s: presence without stats: %s", nick, p.Stanza)
		}
		for name, v := range wantStats {
			if got[name] != v {
				t.Errorf("%s: stat %s = %q, want %q", nick, name, got[name], v)
			}
		}
		if len(got) != len(wantStats) {
			t.Errorf("%s: stats %v, want exactly %v", nick, got, wantStats)
		}
	}
}

func testSetStatsRepublishes(t *testing.T, e *env) {
	b := e.bridge(t, "stats1", bridgesim.Stats{})
	cases := []struct {
		name   string
		change func(*bridgesim.Stats)
		stat   string
		want   string
	}{
		{"stress", func(s *bridgesim.Stats) { s.StressLevel = 0.9 }, "stress_level", "0.9"},
		{"graceful shutdown", func(s *bridgesim.Stats) { s.GracefulShutdown = true }, "graceful_shutdown", "true"},
		{"shutting down", func(s *bridgesim.Stats) { s.ShuttingDown = true }, "shutting_down", "true"},
		{"drain", func(s *bridgesim.Stats) { s.Drain = true }, "drain", "true"},
		{"unhealthy", func(s *bridgesim.Stats) { s.Unhealthy = true }, "healthy", "false"},
		{"region", func(s *bridgesim.Stats) { s.Region = "us-east" }, "region", "us-east"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			from := e.obs.mark()
			if err := b.UpdateStats(tc.change); err != nil {
				t.Fatal(err)
			}
			_, err := e.obs.awaitPresenceFrom(waitCtx(t), from, "stats1", func(p xmpp.OccupantPresence) bool {
				stats, _ := xmpp.ParseStats(p.Stanza)
				return stats[tc.stat] == tc.want
			})
			if err != nil {
				t.Fatalf("no presence with %s=%s: %v", tc.stat, tc.want, err)
			}
		})
	}
}

// golden returns the colibri2 payload of one of the xmpp package's golden
// stanzas, with its meeting-id replaced.
func golden(t *testing.T, name, meetingID string) *xmpp.Element {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "..", "xmpp", "testdata", "colibri2", name))
	if err != nil {
		t.Fatal(err)
	}
	iq, err := xmpp.Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	mod := iq.Child(xmpp.Colibri2NS, "conference-modify")
	if mod == nil {
		t.Fatalf("%s has no conference-modify", name)
	}
	mod.SetAttr("meeting-id", meetingID)
	return mod
}

func testColibri2Lifecycle(t *testing.T, e *env) {
	b := e.bridge(t, "life1", bridgesim.Stats{})
	meetingID := newMeetingID()
	const ep = "7b2f3c1d"

	// Create, as the focus does on the first participant.
	res, err := e.obs.request(t, b, golden(t, "conference-create.xml", meetingID))
	if err != nil {
		t.Fatal(err)
	}
	out := decodeModified(t, res, meetingID)
	got := out.Endpoint(ep)
	if got == nil || got.Transport == nil || got.Transport.ICE == nil {
		t.Fatalf("no transport for %s in %s", ep, res)
	}
	ice := got.Transport.ICE
	if len(ice.Ufrag) < 4 || len(ice.Pwd) < 22 {
		t.Errorf("ufrag %q / pwd %q too short for ICE", ice.Ufrag, ice.Pwd)
	}
	if len(ice.Fingerprints) != 1 || ice.Fingerprints[0].Hash != "sha-256" ||
		ice.Fingerprints[0].Setup != xmpp.JingleSetupActPass || len(ice.Fingerprints[0].Value) != 95 {
		t.Errorf("fingerprints = %+v, want one sha-256 actpass", ice.Fingerprints)
	}
	if len(ice.Candidates) != 1 {
		t.Fatalf("candidates = %+v, want one", ice.Candidates)
	}
	if c := ice.Candidates[0]; c.IP != "127.0.0.1" || c.Type != "host" || c.Protocol != "udp" || c.Port != bridgesim.DefaultCandidatePort || c.Component != 1 {
		t.Errorf("candidate = %+v, want a udp host candidate on 127.0.0.1", c)
	}
	if s := got.Transport.SCTP; s == nil || s.Port != bridgesim.SCTPPort {
		t.Errorf("sctp = %+v, want port %d", s, bridgesim.SCTPPort)
	}
	feedback, err := sources.FromColibri2(out.Sources, false)
	if err != nil {
		t.Fatal(err)
	}
	for _, media := range []sources.Media{sources.Audio, sources.Video} {
		ssrcs := feedback.SSRCs(media)
		if len(ssrcs) != 1 {
			t.Fatalf("feedback %s SSRCs = %v, want one", media, ssrcs)
		}
		src, _ := feedback.Find(ssrcs[0])
		if want := "mixedmslabel mixedlabel" + string(media) + "0"; src.MSID != want {
			t.Errorf("feedback %s msid = %q, want %q", media, src.MSID, want)
		}
	}

	conf, ok := b.Conferences()[meetingID]
	if !ok {
		t.Fatalf("bridge has no conference %s", meetingID)
	}
	stored := conf.Endpoints[ep]
	if conf.Name != "room1@conference.meet.example.com" || stored.StatsID != "Gunnar-Xf3" || !stored.SCTP ||
		!stored.ICEControlling || len(stored.Media) != 2 || !slices.Contains(stored.Capabilities, xmpp.Colibri2CapSourceNames) ||
		stored.ForceMute == nil || !stored.ForceMute.Audio || stored.ForceMute.Video {
		t.Errorf("stored endpoint = %+v in %q", stored, conf.Name)
	}
	if stored.Local == nil || stored.Local.Ufrag != ice.Ufrag {
		t.Errorf("stored local transport %+v, want ufrag %q", stored.Local, ice.Ufrag)
	}

	// Update with the participant's transport and sources.
	res, err = e.obs.request(t, b, golden(t, "endpoint-update.xml", meetingID))
	if err != nil {
		t.Fatal(err)
	}
	if out := decodeModified(t, res, meetingID); out.Endpoint(ep) == nil {
		t.Errorf("update answer does not name %s: %s", ep, res)
	}
	stored = b.Conferences()[meetingID].Endpoints[ep]
	if stored.Transport == nil || stored.Transport.Ufrag != "Xq3A" || len(stored.Transport.Candidates) != 3 {
		t.Errorf("stored focus transport = %+v", stored.Transport)
	}
	set, err := stored.SourceSet()
	if err != nil {
		t.Fatal(err)
	}
	if n := len(set.Sources); n != 7 || len(set.Groups) != 4 || stored.InitialLastN == nil || *stored.InitialLastN != 25 || stored.Updates != 1 {
		t.Errorf("stored %d sources, %d groups, last-n %v, %d updates", n, len(set.Groups), stored.InitialLastN, stored.Updates)
	}

	// In-place ICE restart: new credentials, higher generation.
	out = e.obs.mustModify(t, b, xmpp.Colibri2ConferenceModify{MeetingID: meetingID, Endpoints: []xmpp.Colibri2Endpoint{{
		ID: ep, Transport: &xmpp.Colibri2Transport{ICERestart: true},
	}}})
	if r := out.Endpoint(ep); r == nil || r.Transport == nil || r.Transport.ICE == nil ||
		r.Transport.ICE.ICEGeneration != 1 || r.Transport.ICE.Ufrag == ice.Ufrag {
		t.Errorf("ICE restart answer = %+v", out)
	}

	// The last endpoint leaves: the conference goes with it.
	res, err = e.obs.request(t, b, golden(t, "endpoint-expire.xml", meetingID))
	if err != nil {
		t.Fatal(err)
	}
	decodeModified(t, res, meetingID)
	st := b.State()
	if _, ok := st.Conferences[meetingID]; ok {
		t.Errorf("conference %s outlived its last endpoint", meetingID)
	}
	if st.Counters.ConferencesExpired != 1 || st.Counters.EndpointsExpired != 1 {
		t.Errorf("counters = %+v", st.Counters)
	}
	res, err = e.obs.request(t, b, golden(t, "endpoint-update.xml", meetingID))
	if se := colibriError(t, res, err); se.Colibri2.ParsedReason() != xmpp.Colibri2ConferenceNotFound {
		t.Errorf("update after auto-expire: %+v", se)
	}
}

func testColibri2ConferenceExpire(t *testing.T, e *env) {
	b := e.bridge(t, "expire1", bridgesim.Stats{})
	meetingID := newMeetingID()
	e.obs.mustModify(t, b, createMod(meetingID, "a", "b"))
	// One of two endpoints leaving keeps the conference.
	e.obs.mustModify(t, b, xmpp.Colibri2ConferenceModify{MeetingID: meetingID, Endpoints: []xmpp.Colibri2Endpoint{{ID: "a", Expire: true}}})
	if eps := b.Conferences()[meetingID].Endpoints; len(eps) != 1 {
		t.Fatalf("endpoints after one expired = %v", eps)
	}
	e.obs.mustModify(t, b, xmpp.Colibri2ConferenceModify{MeetingID: meetingID, Expire: true})
	if _, ok := b.Conferences()[meetingID]; ok {
		t.Error("conference survived expire")
	}
}

func testColibri2Errors(t *testing.T, e *env) {
	b := e.bridge(t, "errors1", bridgesim.Stats{})
	update := func(id string, eps ...xmpp.Colibri2Endpoint) xmpp.Colibri2ConferenceModify {
		return xmpp.Colibri2ConferenceModify{MeetingID: id, Endpoints: eps}
	}
	cases := []struct {
		name      string
		setup     func(t *testing.T, meetingID string)
		request   func(meetingID string) xmpp.Colibri2ConferenceModify
		condition string
		reason    xmpp.Colibri2ErrorReason
		endpoint  string
		// endpoints the conference has afterwards; nil when it must not exist
		after []string
	}{{
		name:      "duplicate create",
		setup:     func(t *testing.T, id string) { e.obs.mustModify(t, b, createMod(id, "a")) },
		request:   func(id string) xmpp.Colibri2ConferenceModify { return createMod(id, "b") },
		condition: xmpp.Conflict, reason: xmpp.Colibri2ConferenceAlreadyExists,
		after: []string{"a"},
	}, {
		name:      "unknown conference",
		request:   func(id string) xmpp.Colibri2ConferenceModify { return update(id, xmpp.Colibri2Endpoint{ID: "a"}) },
		condition: xmpp.ItemNotFound, reason: xmpp.Colibri2ConferenceNotFound,
	}, {
		name:  "unknown endpoint, nothing applied",
		setup: func(t *testing.T, id string) { e.obs.mustModify(t, b, createMod(id, "a")) },
		request: func(id string) xmpp.Colibri2ConferenceModify {
			return update(id, xmpp.Colibri2Endpoint{ID: "b", Create: true}, xmpp.Colibri2Endpoint{ID: "ghost"})
		},
		condition: xmpp.ItemNotFound, reason: xmpp.Colibri2UnknownEndpoint, endpoint: "ghost",
		after: []string{"a"},
	}, {
		name:  "duplicate endpoint",
		setup: func(t *testing.T, id string) { e.obs.mustModify(t, b, createMod(id, "a")) },
		request: func(id string) xmpp.Colibri2ConferenceModify {
			return update(id, xmpp.Colibri2Endpoint{ID: "a", Create: true})
		},
		condition: xmpp.Conflict, reason: xmpp.Colibri2Unspecified,
		after: []string{"a"},
	}, {
		name: "graceful shutdown",
		setup: func(t *testing.T, _ string) {
			setFlag(t, b, func(s *bridgesim.Stats) *bool { return &s.GracefulShutdown })
		},
		request:   func(id string) xmpp.Colibri2ConferenceModify { return createMod(id, "a") },
		condition: xmpp.ServiceUnavailable, reason: xmpp.Colibri2GracefulShutdown,
	}, {
		name:      "shutting down",
		setup:     func(t *testing.T, _ string) { setFlag(t, b, func(s *bridgesim.Stats) *bool { return &s.ShuttingDown }) },
		request:   func(id string) xmpp.Colibri2ConferenceModify { return createMod(id, "a") },
		condition: xmpp.ServiceUnavailable, reason: xmpp.Colibri2GracefulShutdown,
	}}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			id := newMeetingID()
			if tc.setup != nil {
				tc.setup(t, id)
			}
			res, err := e.obs.modify(t, b, tc.request(id))
			se := colibriError(t, res, err)
			if se.Condition != tc.condition || se.Colibri2.ParsedReason() != tc.reason {
				t.Errorf("error = %s / %q, want %s / %q", se.Condition, se.Colibri2.ParsedReason(), tc.condition, tc.reason)
			}
			if se.Colibri2 == nil {
				t.Error("error lacks the colibri2 tag")
			}
			gotEP := ""
			if se.Endpoint != nil {
				gotEP = se.Endpoint.ID
			}
			if gotEP != tc.endpoint {
				t.Errorf("error endpoint = %q, want %q", gotEP, tc.endpoint)
			}
			conf, ok := b.Conferences()[id]
			switch {
			case tc.after == nil && ok:
				t.Errorf("conference exists after a failed request: %+v", conf)
			case tc.after != nil && !ok:
				t.Error("conference gone after a failed request")
			case ok:
				var eps []string
				for ep := range conf.Endpoints {
					eps = append(eps, ep)
				}
				slices.Sort(eps)
				if !slices.Equal(eps, tc.after) {
					t.Errorf("endpoints = %v, want %v", eps, tc.after)
				}
			}
		})
	}
}

// setFlag raises one stats flag for the rest of the (sub)test.
func setFlag(t *testing.T, b *bridgesim.Bridge, flag func(*bridgesim.Stats) *bool) {
	t.Helper()
	if err := b.UpdateStats(func(s *bridgesim.Stats) { *flag(s) = true }); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.UpdateStats(func(s *bridgesim.Stats) { *flag(s) = false }) })
}

func testOtherIQs(t *testing.T, e *env) {
	b := e.bridge(t, "iq1", bridgesim.Stats{})
	cases := []struct {
		name      string
		unhealthy bool
		payload   *xmpp.Element
		condition string // "" for a result
	}{
		{"healthcheck", false, xmpp.NewElement(xmpp.Colibri2NSHealthcheck, "healthcheck"), ""},
		{"healthcheck unhealthy", true, xmpp.NewElement(xmpp.Colibri2NSHealthcheck, "healthcheck"), xmpp.InternalServerError},
		{"ping", false, xmpp.NewElement(bridgesim.NSPing, "ping"), ""},
		{"unknown payload", false, xmpp.NewElement("urn:example:nothing", "query"), xmpp.ServiceUnavailable},
		{"malformed colibri2", false, xmpp.NewElement(xmpp.Colibri2NS, "conference-modify"), xmpp.BadRequest},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if err := b.UpdateStats(func(s *bridgesim.Stats) { s.Unhealthy = tc.unhealthy }); err != nil {
				t.Fatal(err)
			}
			res, err := e.obs.request(t, b, tc.payload)
			if got := xmpp.ConditionOf(err); got != tc.condition {
				t.Errorf("condition = %q (err %v), want %q; response %s", got, err, tc.condition, res)
			}
			if tc.condition == "" && res.FirstChild() != nil {
				t.Errorf("result has a payload: %s", res)
			}
		})
	}
}

func testHangAndResume(t *testing.T, e *env) {
	b := e.bridge(t, "hang1", bridgesim.Stats{})
	health := func() *xmpp.Element {
		return xmpp.NewIQ(xmpp.IQGet, "", b.JID(), "", xmpp.NewElement(xmpp.Colibri2NSHealthcheck, "healthcheck"))
	}
	b.Hang()
	answer := make(chan error, 1)
	e.obs.s.Request(health(), 300*time.Millisecond, func(_ *xmpp.Element, err error) { answer <- err })
	// The request reached the bridge and was ignored, not lost on the way.
	if _, err := b.Await(waitCtx(t), func(s bridgesim.State) bool { return s.Counters.Dropped == 1 }); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-answer:
		if !errors.Is(err, session.ErrTimeout) {
			t.Fatalf("request to a hung bridge: %v, want a timeout", err)
		}
	case <-waitCtx(t).Done():
		t.Fatal("request never timed out")
	}
	// Hung, the bridge stays in the brewery.
	if st := b.State(); !st.Joined || !st.Connected {
		t.Errorf("hung bridge state = %+v", st)
	}
	b.Resume()
	if _, err := e.obs.s.RequestWait(waitCtx(t), health()); err != nil {
		t.Fatalf("health check after Resume: %v", err)
	}
}

func testDieAndRestart(t *testing.T, e *env) {
	b := e.bridge(t, "die1", bridgesim.Stats{})
	e.obs.mustModify(t, b, createMod(newMeetingID(), "a"))
	from := e.obs.mark()
	b.Die()
	p, err := e.obs.awaitPresenceFrom(waitCtx(t), from, "die1", func(p xmpp.OccupantPresence) bool { return p.Unavailable })
	if err != nil {
		t.Fatalf("the brewery never reported the dead bridge: %v", err)
	}
	// The server, not the bridge, ended the occupancy.
	if status := p.Stanza.Child("", "status"); status == nil || !strings.Contains(status.Text, "Disconnected") {
		t.Errorf("unavailable presence without a disconnect status: %s", p.Stanza)
	}
	if st := b.State(); !st.Dead || st.Running || st.Joined {
		t.Errorf("state after Die = %+v", st)
	}
	// A restarted bridge comes back empty.
	from = e.obs.mark()
	if err := b.Start(waitCtx(t)); err != nil {
		t.Fatal(err)
	}
	if _, err := e.obs.awaitPresenceFrom(waitCtx(t), from, "die1", func(p xmpp.OccupantPresence) bool { return !p.Unavailable }); err != nil {
		t.Fatal(err)
	}
	if confs := b.Conferences(); len(confs) != 0 {
		t.Errorf("restarted bridge kept conferences %v", confs)
	}
}

func testLeaveAndRejoin(t *testing.T, e *env) {
	b := e.bridge(t, "leave1", bridgesim.Stats{})
	from := e.obs.mark()
	if err := b.Leave(); err != nil {
		t.Fatal(err)
	}
	if _, err := e.obs.awaitPresenceFrom(waitCtx(t), from, "leave1", func(p xmpp.OccupantPresence) bool { return p.Unavailable }); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Await(waitCtx(t), func(s bridgesim.State) bool { return !s.Joined && s.Connected }); err != nil {
		t.Fatal(err)
	}
	if err := b.Rejoin(); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Await(waitCtx(t), func(s bridgesim.State) bool { return s.Joined }); err != nil {
		t.Fatal(err)
	}
}

func testControlHTTP(t *testing.T, e *env) {
	b := e.bridge(t, "jvb7", bridgesim.Stats{})
	srv := httptest.NewServer(bridgesim.ControlHandler([]*bridgesim.Bridge{b}))
	t.Cleanup(srv.Close)
	cases := []struct {
		method, path string
		code         int
		check        func(bridgesim.State) bool
	}{
		{"POST", "/bridges/jvb7/hang", 200, func(s bridgesim.State) bool { return s.Hung }},
		{"POST", "/bridges/jvb7/resume", 200, func(s bridgesim.State) bool { return !s.Hung }},
		{"POST", "/bridges/jvb7/stats?stress=0.5&region=eu&drain=true", 200, func(s bridgesim.State) bool {
			return s.Stats.StressLevel == 0.5 && s.Stats.Region == "eu" && s.Stats.Drain
		}},
		{"POST", "/bridges/jvb7/graceful", 200, func(s bridgesim.State) bool { return s.Stats.GracefulShutdown }},
		{"POST", "/bridges/jvb7/graceful?value=false", 200, func(s bridgesim.State) bool { return !s.Stats.GracefulShutdown }},
		{"POST", "/bridges/jvb7/shutdown", 200, func(s bridgesim.State) bool { return s.Stats.ShuttingDown }},
		{"POST", "/bridges/jvb7/stats?stress=high", 400, func(s bridgesim.State) bool { return s.Stats.StressLevel == 0.5 }},
		{"POST", "/bridges/jvb7/stats?colour=red", 400, nil},
		{"POST", "/bridges/jvb7/explode", 404, nil},
		{"POST", "/bridges/jvb9/hang", 404, nil},
		{"GET", "/bridges/jvb7/hang", 405, nil},
		{"POST", "/bridges/jvb7/leave", 200, func(s bridgesim.State) bool { return s.Left && !s.Joined }},
		{"POST", "/bridges/jvb7/join", 200, func(s bridgesim.State) bool { return !s.Left && s.Joined }},
		{"POST", "/bridges/jvb7/die", 200, func(s bridgesim.State) bool { return s.Dead }},
		{"POST", "/bridges/jvb7/start", 200, func(s bridgesim.State) bool { return s.Running && s.Joined }},
		{"POST", "/bridges/jvb7/stop", 200, func(s bridgesim.State) bool { return !s.Running && !s.Dead }},
	}
	for _, tc := range cases {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			req, err := http.NewRequestWithContext(waitCtx(t), tc.method, srv.URL+tc.path, nil)
			if err != nil {
				t.Fatal(err)
			}
			resp, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tc.code {
				t.Fatalf("status = %d, want %d", resp.StatusCode, tc.code)
			}
			if tc.check != nil {
				if _, err := b.Await(waitCtx(t), tc.check); err != nil {
					t.Errorf("state = %+v: %v", b.State(), err)
				}
			}
		})
	}

	resp, err := srv.Client().Get(srv.URL + "/bridges")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var list []bridgesim.Status
	if err := json.NewDecoder(resp.Body).Decode(&list); err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 || list[0].Nick != "jvb7" || list[0].JID != b.JID() || list[0].Stats["stress_level"] != "0.5" {
		t.Errorf("GET /bridges = %+v", list)
	}
}

// The journal records each conference-modify with its sender and the SSRCs
// it made appear or disappear; a set re-sent unchanged adds nothing.
func testJournal(t *testing.T, e *env) {
	b := e.bridge(t, "journal1", bridgesim.Stats{})
	meetingID := newMeetingID()
	e.obs.mustModify(t, b, createMod(meetingID, "a"))
	withSources := func(ssrcs ...int64) xmpp.Colibri2ConferenceModify {
		ms := xmpp.Colibri2MediaSource{Type: "video", ID: "a-v0"}
		for _, s := range ssrcs {
			ms.Sources = append(ms.Sources, xmpp.JingleSource{SSRC: s})
		}
		return xmpp.Colibri2ConferenceModify{MeetingID: meetingID, Endpoints: []xmpp.Colibri2Endpoint{{
			ID: "a", Sources: &xmpp.Colibri2Sources{MediaSources: []xmpp.Colibri2MediaSource{ms}},
		}}}
	}
	e.obs.mustModify(t, b, withSources(11))
	e.obs.mustModify(t, b, withSources(11, 12))
	e.obs.mustModify(t, b, withSources(11, 12))
	e.obs.mustModify(t, b, withSources(12))
	if _, err := e.obs.modify(t, b, xmpp.Colibri2ConferenceModify{MeetingID: "no-such-meeting", Endpoints: []xmpp.Colibri2Endpoint{{ID: "a"}}}); err == nil {
		t.Fatal("update of an unknown conference succeeded")
	}
	j := b.Journal()
	if len(j) != 6 {
		t.Fatalf("journal has %d requests, want 6: %+v", len(j), j)
	}
	want := []struct{ added, removed []int64 }{{nil, nil}, {[]int64{11}, nil}, {[]int64{12}, nil}, {nil, nil}, {nil, []int64{11}}, {nil, nil}}
	for i, r := range j {
		// Requests come through the brewery: from the focus's occupant.
		if r.Seq != i+1 || r.From != e.brewery+"/focus" || !slices.Equal(r.Added, want[i].added) || !slices.Equal(r.Removed, want[i].removed) {
			t.Errorf("request %d = %+v, want added %v removed %v from the observer's occupant", i, r, want[i].added, want[i].removed)
		}
		if i < 5 && (r.Meeting != meetingID || r.Room == "" || r.Error != "") {
			t.Errorf("request %d = %+v, want meeting %s with its room and no error", i, r, meetingID)
		}
	}
	if j[5].Error != xmpp.ItemNotFound {
		t.Errorf("unknown conference answered %q, want %s", j[5].Error, xmpp.ItemNotFound)
	}
}
