package clustertest_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"focal/internal/clustertest"
	"focal/internal/prosodytest"
	"focal/internal/testclient"
	"focal/media/sources"
	"focal/xmpp"
)

// A conference with visitors fails over with its visitor room: the node
// driving it is killed (SIGKILL) in a three-node cluster whose Prosody
// federates rooms to a visitor node (Jitsi's modules). The visitor keeps
// its Jingle session (no new session-initiate, no terminate) and still
// learns of the speaker's new source from the new owner, which reaches it
// through its own connection to the visitor node; a new visitor is still
// redirected and gets a session.
func TestConferenceWithVisitorsFailsOver(t *testing.T) {
	plugins, err := prosodytest.JitsiPluginsDir()
	if err != nil {
		t.Fatal(err)
	}
	c := clustertest.Start(t, clustertest.Options{
		Nodes: 3, Bridges: 1,
		Prosody:  prosodytest.Options{JitsiPlugins: plugins},
		Visitors: &clustertest.VisitorOptions{ID: "v1"},
	})
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	if err := c.WaitCluster(ctx, 3); err != nil {
		t.Fatal(err)
	}
	room := c.Room("webinar")
	local, _, _ := strings.Cut(room, "@")
	visitorRoom := local + "@" + c.VNode.MUCDomain()

	speakerClient, err := c.Client(ctx)
	if err != nil {
		t.Fatal(err)
	}
	speaker := &participant{c: speakerClient, media: testclient.NewMedia(speakerClient, testclient.MediaOptions{Nick: "speaker"}), nick: "speaker"}
	if _, err := speakerClient.RequestConference(ctx, c.Component(), xmpp.ConferenceIQ{Room: room}); err != nil {
		t.Fatalf("speaker's request: %v", err)
	}
	if _, err := speakerClient.Join(ctx, room, "speaker"); err != nil {
		t.Fatal(err)
	}

	// A second main-room participant: how soon it learns of the new
	// source after the kill is the baseline the visitor's time is set
	// against.
	listenerClient, err := c.Client(ctx)
	if err != nil {
		t.Fatal(err)
	}
	listener := &participant{c: listenerClient, media: testclient.NewMedia(listenerClient, testclient.MediaOptions{Nick: "listener"}), nick: "listener"}
	if _, err := listenerClient.RequestConference(ctx, c.Component(), xmpp.ConferenceIQ{Room: room}); err != nil {
		t.Fatalf("listener's request: %v", err)
	}
	if _, err := listenerClient.Join(ctx, room, "listener"); err != nil {
		t.Fatal(err)
	}

	visitor := redirectAndJoin(ctx, t, c, room, visitorRoom, "visitor1")
	if _, err := visitor.media.AwaitSession(ctx); err != nil {
		t.Fatalf("visitor1: no session: %v", err)
	}
	if err := visitor.media.AwaitAccepted(ctx); err != nil {
		t.Fatalf("visitor1: accept: %v", err)
	}
	for _, m := range []*participant{speaker, listener} {
		if _, err := m.media.AwaitSession(ctx); err != nil {
			t.Fatalf("%s: no session: %v", m.nick, err)
		}
		if err := m.media.AwaitAccepted(ctx); err != nil {
			t.Fatalf("%s: accept: %v", m.nick, err)
		}
	}
	for _, ssrc := range speaker.media.SSRCs() {
		if err := visitor.media.AwaitRemoteSSRC(ctx, ssrc); err != nil {
			t.Fatalf("visitor1 never got the speaker's sources: %v", err)
		}
	}

	// The steady state of a conference with visitors: the main room's
	// participants are in the visitor room too (the main Prosody federates
	// them once the node is connected). Before that, Jitsi's mod_fmuc ends
	// the visitor room when the focus occupant leaves it, as it does when
	// the main room has emptied (README, "Visitor nodes").
	for _, nick := range []string{"speaker", "listener"} {
		if _, err := visitor.c.AwaitPresence(ctx, visitorRoom, func(p xmpp.OccupantPresence) bool { return p.Nick == nick && !p.Unavailable }); err != nil {
			t.Fatalf("visitor1 never saw %s in the visitor room: %v", nick, err)
		}
	}

	owner := roomOwner(ctx, t, c, room)
	seenBefore := len(visitor.c.Received())
	killed := time.Now()
	if err := owner.Kill(); err != nil {
		t.Fatal(err)
	}
	t.Logf("killed %s, the owner of %s", owner.Name(), room)

	// The speaker's new source reaches the visitor: the new owner drives
	// the conference and reaches the visitor room.
	const ssrc = 777001
	// Sent at once and once: until the next owner resumes the focus's
	// session, Prosody queues it there, then redelivers it.
	if err := speaker.media.SendSourceAdd(ctx, newSource(ssrc, "screen")); err != nil {
		t.Fatalf("speaker's source-add after the kill: %v", err)
	}
	// Each awaited on its own, so that each time is its own.
	var mu sync.Mutex
	var wg sync.WaitGroup
	got := map[string]time.Duration{}
	for _, m := range []*participant{listener, visitor} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := m.media.AwaitRemoteSSRC(ctx, ssrc); err != nil {
				t.Errorf("%s never got the speaker's new source after the kill: %v", m.nick, err)
				return
			}
			mu.Lock()
			got[m.nick] = time.Since(killed)
			mu.Unlock()
		}()
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	t.Logf("new source after the kill: main-room listener %v, visitor %v (ratio %.2f)",
		got["listener"].Round(time.Millisecond), got["visitor1"].Round(time.Millisecond),
		float64(got["visitor1"])/float64(got["listener"]))
	if n := visitor.media.Sessions(); n != 1 || visitor.media.Ended() {
		t.Errorf("visitor1's session after the kill: %d sessions, ended %v; want the one session kept", n, visitor.media.Ended())
	}
	// The dead node's connection to the visitor node is not taken over:
	// the visitor node drops it at once. The standby's seat keeps the
	// focus occupant in the room, so visitors do not see the focus leave
	// (lib-jitsi-meet ends the conference on that).
	for _, el := range visitor.c.Received()[seenBefore:] {
		if p, ok := xmpp.ParseOccupantPresence(el); ok && p.Room == visitorRoom && p.Nick == "focus" && p.Unavailable {
			t.Errorf("visitor1 saw the focus leave the visitor room after the kill: %s", el)
		}
	}

	late := redirectAndJoin(ctx, t, c, room, visitorRoom, "visitor2")
	if _, err := late.media.AwaitSession(ctx); err != nil {
		t.Fatalf("visitor2, after the kill: no session: %v", err)
	}
	if err := late.media.AwaitRemoteSSRC(ctx, ssrc); err != nil {
		t.Fatalf("visitor2 never got the speaker's sources: %v", err)
	}
	if n := visitor.media.Sessions(); n != 1 || visitor.media.Ended() {
		t.Errorf("visitor1's session at the end: %d sessions, ended %v", n, visitor.media.Ended())
	}
}

// redirectAndJoin asks for the conference as a visitor, checks it is sent
// to the cluster's visitor node, and joins the visitor room there with a
// media endpoint that sends nothing.
func redirectAndJoin(ctx context.Context, t *testing.T, c *clustertest.Cluster, room, visitorRoom, nick string) *participant {
	t.Helper()
	asker, err := c.Client(ctx)
	if err != nil {
		t.Fatal(err)
	}
	req := xmpp.ConferenceIQ{Room: room, Properties: []xmpp.Property{{Name: "visitors-version", Value: "1"}, {Name: "visitor", Value: "true"}}}
	res, err := asker.RequestConference(ctx, c.Component(), req)
	if err != nil || res.VNode != c.VNodeID {
		t.Fatalf("%s: visitor request answered %+v %v, want vnode %s", nick, res, err, c.VNodeID)
	}
	asker.Close()
	cl, err := testclient.Dial(ctx, testclient.Options{Addr: c.VNode.C2SAddr, Domain: c.VNode.Domain})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	m := &participant{c: cl, media: testclient.NewMedia(cl, testclient.MediaOptions{Nick: nick, Sources: &sources.Set{}}), nick: nick}
	if p, err := cl.Join(ctx, visitorRoom, nick); err != nil || p.Error != nil {
		t.Fatalf("%s: join the visitor room: %v %+v", nick, err, p.Error)
	}
	return m
}
