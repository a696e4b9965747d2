package node_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"focal/actors/conference"
	"focal/bench/bridgesim"
	"focal/internal/prosodytest"
	"focal/internal/testclient"
	"focal/media/sources"
	"focal/visitors"
	"focal/xmpp"
)

// visitorHarness is a focus node in front of a main Prosody and a visitor
// node, both with Jitsi's own visitor modules (prosodytest.StartVisitorPair).
type visitorHarness struct {
	*harness
	pair *prosodytest.VisitorPair
}

// newVisitorHarness starts the pair, a node with the visitor node
// configured (max-participants as given) and the brewery, and a bridge.
func newVisitorHarness(t *testing.T, maxParticipants int) *visitorHarness {
	t.Helper()
	plugins, err := prosodytest.JitsiPluginsDir()
	if err != nil {
		t.Fatal(err)
	}
	pair := prosodytest.StartVisitorPair(t, plugins, "v1")
	h := &harness{t: t, prosody: pair.Main}
	h.cfg = nodeConfig(pair.Main)
	withBrewery(&h.cfg)
	h.cfg.Visitors = visitorsConfig(pair, maxParticipants)
	h.start()
	return &visitorHarness{harness: h, pair: pair}
}

func visitorsConfig(pair *prosodytest.VisitorPair, maxParticipants int) visitors.Config {
	host, port := splitAddr(pair.VNode.C2SAddr)
	return visitors.Config{
		Enabled:         true,
		MaxParticipants: maxParticipants,
		Nodes: []visitors.Node{{
			ID: pair.VNodeID, Host: host, Port: port,
			Domain: pair.VNode.Domain, MUC: pair.VNode.MUCDomain(),
			User: "focus@" + pair.VNode.AuthDomain(), Password: pair.VNode.FocusPassword,
		}},
	}
}

// visitorRoom is room's visitor room on the node.
func (v *visitorHarness) visitorRoom(room string) string {
	local, _, _ := strings.Cut(room, "@")
	return local + "@" + v.pair.VNode.MUCDomain()
}

// visitorsRequest is the conference request of a client that supports
// visitors, asking to be one or not.
func visitorsRequest(room string, asVisitor bool) xmpp.ConferenceIQ {
	req := xmpp.ConferenceIQ{Room: room, Properties: []xmpp.Property{{Name: "visitors-version", Value: "1"}}}
	if asVisitor {
		req.Properties = append(req.Properties, xmpp.Property{Name: "visitor", Value: "true"})
	}
	return req
}

// joinAsVisitor connects to the visitor node anonymously, with a media
// endpoint that sends nothing (unless sends), and joins the visitor room.
func (v *visitorHarness) joinAsVisitor(ctx context.Context, room, nick string, sends bool) *member {
	v.t.Helper()
	c, err := testclient.Dial(ctx, testclient.Options{Addr: v.pair.VNode.C2SAddr, Domain: v.pair.VNode.Domain})
	if err != nil {
		v.t.Fatal(err)
	}
	v.t.Cleanup(c.Close)
	opts := testclient.MediaOptions{Nick: nick, Sources: &sources.Set{}}
	if sends {
		opts.Sources = nil // an audio and a video source
	}
	m := &member{c: c, media: testclient.NewMedia(c, opts), nick: nick}
	p, err := c.Join(ctx, v.visitorRoom(room), nick)
	if err != nil || p.Error != nil {
		v.t.Fatalf("%s: join the visitor room: %v %+v", nick, err, p.Error)
	}
	if p.Role != xmpp.RoleVisitor {
		v.t.Errorf("%s: role %q in the visitor room, want visitor", nick, p.Role)
	}
	return m
}

// A conference with a visitor node, end to end through Jitsi's modules: a
// client asking to be a visitor is sent to the node (vnode, the node's
// focus JID, visitors-supported); the focus joins the visitor room and
// connects the node, so the main room's participant is federated there;
// the visitor gets a Jingle session whose Colibri2 endpoint has
// muc-role visitor, may not add sources (source-add, or a session-accept
// with sources), and visitors are counted in the focus's presence
// (visitor-count). A vnode the client made up is refused.
func TestVisitorIsRedirectedAndGetsAMediaSession(t *testing.T) {
	v := newVisitorHarness(t, 50)
	ctx := testContext(t, 60*time.Second)
	b := v.readyBridge(ctx, "jvb-1", bridgesim.Stats{StressLevel: 0.1})
	room := v.room("webinar")

	speaker := v.join(ctx, room, "speaker1", testclient.MediaOptions{})

	viewer := v.client(ctx)
	res, err := viewer.RequestConference(ctx, v.component(), visitorsRequest(room, true))
	if err != nil {
		t.Fatalf("visitor request: %v", err)
	}
	if res.VNode != v.pair.VNodeID || res.FocusJID != "focus@"+v.pair.VNode.AuthDomain() || !res.Ready {
		t.Fatalf("visitor request answered %+v, want vnode %s and the node's focus", res, v.pair.VNodeID)
	}
	if got := property(res, "visitors-supported"); got != "true" {
		t.Errorf("visitors-supported = %q, want true", got)
	}
	viewer.Close()

	visitor := v.joinAsVisitor(ctx, room, "visitor1", false)
	// The main room's participant is federated into the visitor room: the
	// node was connected.
	if _, err := visitor.c.AwaitPresence(ctx, v.visitorRoom(room), func(p xmpp.OccupantPresence) bool {
		return p.Nick == "speaker1" && !p.Unavailable
	}); err != nil {
		t.Fatalf("the main room's participant never appeared in the visitor room: %v", err)
	}
	visitor.awaitSession(ctx, t)
	if err := visitor.media.AwaitAccepted(ctx); err != nil {
		t.Fatalf("the visitor's session-accept: %v", err)
	}
	ep := awaitEndpoint(ctx, t, b, "visitor1", func(bridgesim.Endpoint) bool { return true })
	if ep.MUCRole != xmpp.Colibri2MUCRoleVisitor {
		t.Errorf("the visitor's endpoint has muc-role %q, want visitor", ep.MUCRole)
	}
	visitor.awaitSSRCs(ctx, t, speaker)

	add := sources.Set{Sources: []sources.Source{{SSRC: 4242, Media: sources.Audio, Name: "visitor1-a0"}}}
	if err := visitor.media.SendSourceAdd(ctx, add); xmpp.ConditionOf(err) != xmpp.Forbidden {
		t.Errorf("a visitor's source-add: %v, want forbidden", err)
	}

	// A visitor whose session-accept carries sources is refused too.
	sender := v.joinAsVisitor(ctx, room, "visitor2", true)
	sender.awaitSession(ctx, t)
	if err := sender.media.AwaitAccepted(ctx); xmpp.ConditionOf(err) != xmpp.Forbidden {
		t.Errorf("a visitor's session-accept with sources: %v, want forbidden", err)
	}

	if _, err := speaker.c.AwaitPresence(ctx, room, func(p xmpp.OccupantPresence) bool {
		if p.Nick != "focus" {
			return false
		}
		for _, prop := range xmpp.ParseFocusPresence(p.Stanza).Properties {
			if prop.Key == xmpp.PropVisitorCount && prop.Value == "2" {
				return true
			}
		}
		return false
	}); err != nil {
		t.Errorf("the focus never published visitor-count 2: %v", err)
	}

	madeUp := v.client(ctx)
	req := visitorsRequest(room, true)
	req.VNode = "v99"
	if _, err := madeUp.RequestConference(ctx, v.component(), req); xmpp.ConditionOf(err) != xmpp.BadRequest ||
		!strings.Contains(err.Error(), "unknown visitor node") {
		t.Errorf("a made-up vnode: %v, want bad-request naming it", err)
	}
}

// The main room's limit: with max-participants 1, once one participant is
// in, a client that supports visitors is sent to the node, over XMPP and
// over HTTP, and one that does not is not; below the limit nobody is.
func TestVisitorRedirectAtTheParticipantLimitOverXMPPAndHTTP(t *testing.T) {
	v := newVisitorHarness(t, 1)
	ctx := testContext(t, 60*time.Second)
	room := v.room("crowded")

	first := v.client(ctx)
	res, err := first.RequestConference(ctx, v.component(), visitorsRequest(room, false))
	if err != nil || res.VNode != "" {
		t.Fatalf("the first request, below the limit: %+v %v", res, err)
	}
	if _, err := first.Join(ctx, room, "speaker1"); err != nil {
		t.Fatal(err)
	}
	v.awaitDebug(ctx, func(list []conference.Snapshot) bool {
		for _, c := range list {
			if c.Room == room && len(c.Participants) == 1 {
				return true
			}
		}
		return false
	})

	legacy := v.client(ctx)
	if res, err := legacy.RequestConference(ctx, v.component(), xmpp.ConferenceIQ{Room: room}); err != nil || res.VNode != "" {
		t.Errorf("a client without visitors-version at the limit: %+v %v, want the main room", res, err)
	}
	second := v.client(ctx)
	if res, err := second.RequestConference(ctx, v.component(), visitorsRequest(room, false)); err != nil || res.VNode != v.pair.VNodeID {
		t.Errorf("a client with visitors-version at the limit: %+v %v, want vnode %s", res, err, v.pair.VNodeID)
	}

	body := `{"room":"` + room + `","properties":{"visitors-version":"1"}}`
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+v.node.HTTPAddr()+"/conference-request/v1", strings.NewReader(body))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	data, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var got struct {
		VNode    string            `json:"vnode"`
		FocusJID string            `json:"focusJid"`
		Props    map[string]string `json:"properties"`
	}
	if err := json.Unmarshal(data, &got); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("HTTP request: %d %s %v", resp.StatusCode, data, err)
	}
	if got.VNode != v.pair.VNodeID || got.FocusJID != "focus@"+v.pair.VNode.AuthDomain() || got.Props["visitors-supported"] != "true" {
		t.Errorf("HTTP request at the limit answered %s, want vnode %s", data, v.pair.VNodeID)
	}
}

// Visitors configured, but the server has no visitors component (a plain
// Prosody, standing in for the node too): nobody is redirected, and the
// answer says visitors are not supported.
func TestNoVisitorsWithoutTheVisitorsComponent(t *testing.T) {
	p := prosodytest.Start(t, prosodytest.Options{})
	if err := p.Register("vfocus", "vpass"); err != nil {
		t.Fatal(err)
	}
	h := &harness{t: t, prosody: p, cfg: nodeConfig(p)}
	host, port := splitAddr(p.C2SAddr)
	h.cfg.Visitors = visitors.Config{Enabled: true, Nodes: []visitors.Node{{ID: "v1", Host: host, Port: port,
		Domain: p.Domain, MUC: "conference.v1." + p.Domain, User: "vfocus@" + p.AuthDomain(), Password: "vpass"}}}
	h.start()
	ctx := testContext(t, 30*time.Second)
	cl := h.client(ctx)
	res, err := cl.RequestConference(ctx, h.component(), visitorsRequest(h.room("plain"), true))
	if err != nil || !res.Ready || res.VNode != "" || property(res, "visitors-supported") != "false" {
		t.Fatalf("a visitor request without the component: %+v %v, want the main room and visitors-supported false", res, err)
	}
}
