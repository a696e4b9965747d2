package node_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"focal/actors/conference"
	"focal/internal/prosodytest"
	"focal/internal/testclient"
	"focal/node"
	"focal/xmpp"
)

func TestMain(m *testing.M) {
	// protoactor's dead-letter log throttle runs a one-second timer
	// goroutine after the first dead letter (a timer firing at a conference
	// that just stopped); it ends by itself.
	goleak.VerifyTestMain(m, goleak.IgnoreTopFunction("github.com/asynkron/protoactor-go/actor.NewDeadLetter.NewThrottle.func4.1"))
}

// harness is a private Prosody with one focus node in this process.
type harness struct {
	t       testing.TB
	prosody *prosodytest.Server
	node    *node.Node
	cfg     node.Config
}

func newHarness(t testing.TB, tune func(*node.Config)) *harness {
	t.Helper()
	p := prosodytest.Start(t, prosodytest.Options{})
	h := &harness{t: t, prosody: p}
	h.cfg = nodeConfig(p)
	if tune != nil {
		tune(&h.cfg)
	}
	h.start()
	return h
}

func nodeConfig(p *prosodytest.Server) node.Config {
	cfg := node.Defaults()
	cfg.Domain = p.Domain
	host, port := splitAddr(p.ComponentAddr)
	cfg.Host, cfg.Port = host, port
	cfg.Secret = p.FocusSecret
	cfg.UserDomain = p.AuthDomain()
	cfg.UserPassword = p.FocusPassword
	_, cfg.UserPort = splitAddr(p.C2SAddr)
	cfg.UserHost = host
	cfg.UserTLSInsecure = true
	cfg.HTTP = "127.0.0.1:0"
	cfg.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: testLogLevel()}))
	return cfg
}

func splitAddr(addr string) (string, int) {
	host, port, _ := strings.Cut(addr, ":")
	var p int
	fmt.Sscanf(port, "%d", &p)
	return host, p
}

func (h *harness) start() {
	n, err := node.Start(h.cfg)
	if err != nil {
		h.t.Fatalf("start node: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- n.Run(ctx) }()
	h.t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			h.t.Errorf("node run: %v", err)
		}
	})
	wctx, wcancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer wcancel()
	if err := n.WaitReady(wctx); err != nil {
		h.t.Fatalf("node not ready: %v", err)
	}
	h.node = n
}

func (h *harness) client(ctx context.Context) *testclient.Client {
	h.t.Helper()
	c, err := testclient.Dial(ctx, testclient.Options{Addr: h.prosody.C2SAddr, Domain: h.prosody.Domain})
	if err != nil {
		h.t.Fatal(err)
	}
	h.t.Cleanup(c.Close)
	return c
}

func (h *harness) room(name string) string { return name + "@" + h.prosody.MUCDomain() }

func (h *harness) component() string { return h.prosody.FocusComponent() }

func testContext(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

func isFocus(p xmpp.OccupantPresence) bool { return p.Nick == "focus" }

// awaitFocusGone waits until room has no focus: it joins a probe occupant
// and looks at the occupant list, again until the list lacks the focus. A
// probe that finds the focus leaves again, which (being the last participant
// to leave) does not keep the conference alive.
func (h *harness) awaitFocusGone(ctx context.Context, room string) {
	h.t.Helper()
	for i := 0; ; i++ {
		probe := h.client(ctx)
		nick := fmt.Sprintf("probe%d", i)
		self, err := probe.Join(ctx, room, nick)
		if err != nil {
			h.t.Fatalf("probe join: %v", err)
		}
		focusThere := false
		for _, el := range probe.Received() {
			if p, ok := xmpp.ParseOccupantPresence(el); ok && p.Room == room && isFocus(p) && !p.Unavailable {
				focusThere = true
			}
		}
		_ = probe.Leave(room, nick)
		if !focusThere {
			if !self.HasCode(xmpp.StatusRoomCreated) {
				h.t.Errorf("room %s was not empty when the focus was gone", room)
			}
			return
		}
		if ctx.Err() != nil {
			h.t.Fatalf("focus still in %s", room)
		}
		probe.Close()
	}
}

func TestReadyMeansFocusIsOwnerInRoom(t *testing.T) {
	h := newHarness(t, nil)
	ctx := testContext(t, 30*time.Second)
	alice := h.client(ctx)
	room := h.room("readyroom")

	res, err := alice.RequestConference(ctx, h.component(), xmpp.ConferenceIQ{Room: room})
	if err != nil {
		t.Fatalf("conference request: %v", err)
	}
	if !res.Ready || res.FocusJID != "focus@"+h.prosody.AuthDomain() || res.Room != room {
		t.Fatalf("answer = %+v, want ready with focusjid focus@%s", res, h.prosody.AuthDomain())
	}
	if v, _ := res.Property("authentication"); v != "false" {
		t.Errorf("authentication property = %q, want false", v)
	}
	// The occupant list a joiner receives comes before its self-presence.
	if _, err := alice.Join(ctx, room, "alice"); err != nil {
		t.Fatal(err)
	}
	focus, err := alice.AwaitPresence(ctx, room, isFocus)
	if err != nil {
		t.Fatal(err)
	}
	if focus.Affiliation != xmpp.AffiliationOwner || focus.Role != xmpp.RoleModerator {
		t.Errorf("focus is %s/%s, want owner/moderator", focus.Affiliation, focus.Role)
	}
	if !strings.HasPrefix(focus.RealJID, "focus@"+h.prosody.AuthDomain()+"/") {
		t.Errorf("focus occupant jid = %q", focus.RealJID)
	}

	// A second request for the live room is answered at once.
	res2, err := alice.RequestConference(ctx, h.component(), xmpp.ConferenceIQ{Room: room})
	if err != nil || !res2.Ready {
		t.Fatalf("second request: %+v, %v", res2, err)
	}
}

func TestFirstParticipantIsOwnerAndOwnerIsReelected(t *testing.T) {
	h := newHarness(t, nil)
	ctx := testContext(t, 30*time.Second)
	room := h.room("owners")
	alice, bob := h.client(ctx), h.client(ctx)
	if _, err := alice.RequestConference(ctx, h.component(), xmpp.ConferenceIQ{Room: room}); err != nil {
		t.Fatal(err)
	}
	if _, err := alice.Join(ctx, room, "alice"); err != nil {
		t.Fatal(err)
	}
	ownerIs := func(nick string) func(xmpp.OccupantPresence) bool {
		return func(p xmpp.OccupantPresence) bool {
			return p.Nick == nick && p.Affiliation == xmpp.AffiliationOwner && !p.Unavailable
		}
	}
	if _, err := alice.AwaitPresence(ctx, room, ownerIs("alice")); err != nil {
		t.Fatalf("alice not granted owner: %v", err)
	}
	if _, err := bob.Join(ctx, room, "bob"); err != nil {
		t.Fatal(err)
	}
	if err := alice.Leave(room, "alice"); err != nil {
		t.Fatal(err)
	}
	if _, err := bob.AwaitPresence(ctx, room, ownerIs("bob")); err != nil {
		t.Fatalf("bob not elected owner after alice left: %v", err)
	}
}

func TestConferenceEndsWhenLastParticipantLeaves(t *testing.T) {
	h := newHarness(t, nil)
	ctx := testContext(t, 30*time.Second)
	room := h.room("lastleaves")
	alice := h.client(ctx)
	if _, err := alice.RequestConference(ctx, h.component(), xmpp.ConferenceIQ{Room: room}); err != nil {
		t.Fatal(err)
	}
	if _, err := alice.Join(ctx, room, "alice"); err != nil {
		t.Fatal(err)
	}
	if err := alice.Leave(room, "alice"); err != nil {
		t.Fatal(err)
	}
	// Probing the room before the conference ended would count as a
	// participant and restart the empty-room grace: wait for the end first.
	h.awaitDebug(ctx, func(s []conference.Snapshot) bool { return len(s) == 0 })
	h.awaitFocusGone(ctx, room)
}

func TestConferenceNobodyJoinsEndsAfterInitialTimeout(t *testing.T) {
	h := newHarness(t, func(c *node.Config) { c.InitialTimeout = time.Second })
	ctx := testContext(t, 30*time.Second)
	room := h.room("nobody")
	alice := h.client(ctx)
	if _, err := alice.RequestConference(ctx, h.component(), xmpp.ConferenceIQ{Room: room}); err != nil {
		t.Fatal(err)
	}
	h.awaitDebug(ctx, func(s []conference.Snapshot) bool { return len(s) == 0 })
	h.awaitFocusGone(ctx, room)
}

func TestConcurrentRequestsForDistinctRoomsAreAllAnswered(t *testing.T) {
	h := newHarness(t, nil)
	ctx := testContext(t, 60*time.Second)
	const n = 20
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		c := h.client(ctx)
		wg.Add(1)
		go func() {
			defer wg.Done()
			room := h.room(fmt.Sprintf("concurrent%d", i))
			res, err := c.RequestConference(ctx, h.component(), xmpp.ConferenceIQ{Room: room})
			if err == nil && !res.Ready {
				err = fmt.Errorf("%s: not ready", room)
			}
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	snaps := h.debug(ctx)
	if len(snaps) != n {
		t.Errorf("%d conferences live, want %d", len(snaps), n)
	}
}

func TestFirstRequestPropertiesBecomeConferenceWide(t *testing.T) {
	h := newHarness(t, nil)
	ctx := testContext(t, 30*time.Second)
	room := h.room("props")
	alice, bob := h.client(ctx), h.client(ctx)
	first := xmpp.ConferenceIQ{Room: room, Properties: []xmpp.Property{
		{Name: "startAudioMuted", Value: "3"}, {Name: "startVideoMuted", Value: "5"}, {Name: "rtcstatsEnabled", Value: "false"},
	}}
	if _, err := alice.RequestConference(ctx, h.component(), first); err != nil {
		t.Fatal(err)
	}
	second := xmpp.ConferenceIQ{Room: room, Properties: []xmpp.Property{{Name: "startAudioMuted", Value: "9"}}}
	if _, err := bob.RequestConference(ctx, h.component(), second); err != nil {
		t.Fatal(err)
	}
	snaps := h.debug(ctx)
	if len(snaps) != 1 {
		t.Fatalf("conferences = %+v", snaps)
	}
	want := conference.Options{RTCStatsEnabled: false, StartAudioMuted: 3, StartVideoMuted: 5}
	if snaps[0].Options != want {
		t.Errorf("options = %+v, want %+v", snaps[0].Options, want)
	}
}

func TestJoinRefusedByRoomIsAnError(t *testing.T) {
	h := newHarness(t, nil)
	ctx := testContext(t, 30*time.Second)
	room := h.room("nicktaken")
	squatter := h.client(ctx)
	// Someone else holds the nick the focus joins as: the room refuses the
	// focus with a conflict, and the requester must hear about it.
	if _, err := squatter.Join(ctx, room, "focus"); err != nil {
		t.Fatal(err)
	}
	_, err := squatter.RequestConference(ctx, h.component(), xmpp.ConferenceIQ{Room: room})
	if cond := xmpp.ConditionOf(err); cond != xmpp.Conflict {
		t.Fatalf("error = %v, want conflict", err)
	}
}

func TestMalformedConferenceRequestsGetErrors(t *testing.T) {
	h := newHarness(t, nil)
	ctx := testContext(t, 30*time.Second)
	c := h.client(ctx)
	manyProps := xmpp.NewElement(xmpp.NSFocus, "conference", "room", h.room("x"))
	for i := 0; i <= xmpp.MaxConferenceProperties; i++ {
		manyProps.Append(xmpp.NewElement(xmpp.NSFocus, "property", "name", fmt.Sprint("p", i), "value", "v"))
	}
	cases := []struct {
		name    string
		typ     string
		payload *xmpp.Element
		want    string
	}{
		{"no room", xmpp.IQSet, xmpp.NewElement(xmpp.NSFocus, "conference"), xmpp.BadRequest},
		{"invalid room", xmpp.IQSet, xmpp.NewElement(xmpp.NSFocus, "conference", "room", "@@bad"), xmpp.BadRequest},
		{"room with resource", xmpp.IQSet, xmpp.NewElement(xmpp.NSFocus, "conference", "room", h.room("r")+"/nick"), xmpp.BadRequest},
		{"room on another service", xmpp.IQSet, xmpp.NewElement(xmpp.NSFocus, "conference", "room", "r@elsewhere.example"), xmpp.NotAllowed},
		{"too many properties", xmpp.IQSet, manyProps, xmpp.BadRequest},
		{"oversized property", xmpp.IQSet, xmpp.NewElement(xmpp.NSFocus, "conference", "room", h.room("r")).Append(
			xmpp.NewElement(xmpp.NSFocus, "property", "name", "big", "value", strings.Repeat("v", 2000))), xmpp.BadRequest},
		{"unknown child", xmpp.IQSet, xmpp.NewElement(xmpp.NSFocus, "conference", "room", h.room("r")).Append(
			xmpp.NewElement("urn:example", "surprise")), xmpp.BadRequest},
		{"get instead of set", xmpp.IQGet, xmpp.NewElement(xmpp.NSFocus, "conference", "room", h.room("r")), xmpp.BadRequest},
		{"unknown payload", xmpp.IQSet, xmpp.NewElement("urn:example", "query"), xmpp.ServiceUnavailable},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := c.S.RequestWait(ctx, xmpp.NewIQ(tc.typ, "", h.component(), "", tc.payload))
			if got := xmpp.ConditionOf(err); got != tc.want {
				t.Errorf("error = %v, want %s", err, tc.want)
			}
		})
	}
	if snaps := h.debug(ctx); len(snaps) != 0 {
		t.Errorf("bad requests created conferences: %+v", snaps)
	}
}

func TestProsodyRestartFocusRejoinsLiveRooms(t *testing.T) {
	h := newHarness(t, nil)
	ctx := testContext(t, 60*time.Second)
	rooms := []string{h.room("restart1"), h.room("restart2"), h.room("restart3")}
	for i, room := range rooms {
		c := h.client(ctx)
		if _, err := c.RequestConference(ctx, h.component(), xmpp.ConferenceIQ{Room: room}); err != nil {
			t.Fatal(err)
		}
		if _, err := c.Join(ctx, room, fmt.Sprint("p", i)); err != nil {
			t.Fatal(err)
		}
	}
	h.prosody.Restart(t)
	// Participants come back after the restart, as Jitsi clients do.
	for i, room := range rooms {
		c := h.client(ctx)
		if _, err := c.Join(ctx, room, fmt.Sprint("p", i)); err != nil {
			t.Fatal(err)
		}
		focus, err := c.AwaitPresence(ctx, room, func(p xmpp.OccupantPresence) bool { return isFocus(p) && !p.Unavailable })
		if err != nil {
			t.Fatalf("focus not back in %s: %v", room, err)
		}
		if focus.Affiliation != xmpp.AffiliationOwner {
			t.Errorf("focus in %s is %s after the restart", room, focus.Affiliation)
		}
	}
}

func TestHTTPConferenceRequest(t *testing.T) {
	h := newHarness(t, nil)
	ctx := testContext(t, 30*time.Second)
	url := "http://" + h.node.HTTPAddr() + "/conference-request/v1"
	post := func(body string) (int, string) {
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, url, strings.NewReader(body))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		data, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(data)
	}
	room := h.room("httproom")
	status, body := post(`{"room":"` + room + `","properties":{"startAudioMuted":2,"rtcstatsEnabled":"true"},"unknownField":1}`)
	if status != http.StatusOK {
		t.Fatalf("POST = %d %s", status, body)
	}
	var resp struct {
		Room       string            `json:"room"`
		Ready      bool              `json:"ready"`
		FocusJID   string            `json:"focusJid"`
		Properties map[string]string `json:"properties"`
	}
	if err := json.Unmarshal([]byte(body), &resp); err != nil {
		t.Fatalf("response %q: %v", body, err)
	}
	if !resp.Ready || resp.Room != room || resp.FocusJID != "focus@"+h.prosody.AuthDomain() {
		t.Errorf("response = %+v", resp)
	}
	for _, tc := range []struct{ body, want string }{
		{`{"room":`, "malformed JSON"},
		{`{}`, "no 'room'"},
		{`{"room":"not a jid@@"}`, "invalid room"},
		{`{"room":"r@elsewhere.example"}`, "not-allowed"},
		{`{"room":"` + room + `","properties":{"x":{"nested":1}}}`, "property 'x'"},
		{`[1,2]`, "malformed JSON"},
	} {
		if status, body := post(tc.body); status != http.StatusBadRequest || !strings.Contains(body, tc.want) {
			t.Errorf("POST %s = %d %q, want 400 mentioning %q", tc.body, status, body, tc.want)
		}
	}
	req, _ := http.NewRequestWithContext(ctx, http.MethodOptions, url, nil)
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusOK {
		t.Errorf("OPTIONS = %v %v", resp, err)
	} else {
		resp.Body.Close()
	}
	for path, want := range map[string]string{"/about/version": `"name":"focal"`, "/about/health": "OK"} {
		resp, err := http.Get("http://" + h.node.HTTPAddr() + path)
		if err != nil {
			t.Fatal(err)
		}
		data, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || !strings.Contains(string(data), want) {
			t.Errorf("GET %s = %d %s", path, resp.StatusCode, data)
		}
	}
}

func TestHealthIsUnavailableWhileProsodyIsDown(t *testing.T) {
	h := newHarness(t, nil)
	ctx := testContext(t, 30*time.Second)
	if err := h.prosody.Stop(); err != nil {
		t.Fatal(err)
	}
	for {
		resp, err := http.Get("http://" + h.node.HTTPAddr() + "/about/health")
		if err != nil {
			t.Fatal(err)
		}
		data, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode == http.StatusServiceUnavailable {
			if !strings.Contains(string(data), "down") {
				t.Errorf("503 without a reason: %q", data)
			}
			break
		}
		select {
		case <-ctx.Done():
			t.Fatal("health stayed OK with Prosody stopped")
		case <-time.After(50 * time.Millisecond):
		}
	}
	h.prosody.Restart(t)
	wctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	if err := h.node.WaitReady(wctx); err != nil {
		t.Fatalf("node did not reconnect: %v", err)
	}
}

func (h *harness) debug(ctx context.Context) []conference.Snapshot {
	h.t.Helper()
	var out []conference.Snapshot
	h.getJSON(ctx, "/debug/conferences", &out)
	return out
}

// getJSON decodes the JSON answer to GET path on the node's HTTP API.
func (h *harness) getJSON(ctx context.Context, path string, out any) {
	h.t.Helper()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+h.node.HTTPAddr()+path, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		h.t.Fatalf("GET %s: %v", path, err)
	}
}

// awaitDebug polls the debug view until ok accepts it.
func (h *harness) awaitDebug(ctx context.Context, ok func([]conference.Snapshot) bool) {
	h.t.Helper()
	for !ok(h.debug(ctx)) {
		select {
		case <-ctx.Done():
			h.t.Fatalf("debug view never matched: %+v", h.debug(context.Background()))
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// testLogLevel is Warn, or Debug with FOCAL_TEST_DEBUG set.
func testLogLevel() slog.Level {
	if os.Getenv("FOCAL_TEST_DEBUG") != "" {
		return slog.LevelDebug
	}
	return slog.LevelWarn
}
