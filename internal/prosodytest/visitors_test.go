package prosodytest_test

import (
	"context"
	"testing"
	"time"

	"focal/internal/prosodytest"
	"focal/internal/testclient"
	"focal/xmpp"
)

// TestVisitorPairFederatesARoom drives Jitsi's visitor modules by hand, as
// the focus does: the focus joins the visitor room on the node and the main
// room, and connect-vnode makes the main Prosody federate the main room's
// participants into the visitor room over s2s; then a visitor (anonymous on
// the node) gets in, as a visitor, and the focus on the node sees it.
func TestVisitorPairFederatesARoom(t *testing.T) {
	plugins, err := prosodytest.JitsiPluginsDir()
	if err != nil {
		t.Fatal(err)
	}
	pair := prosodytest.StartVisitorPair(t, plugins, "v1")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	dial := func(s *prosodytest.Server, user string) *testclient.Client {
		t.Helper()
		opts := testclient.Options{Addr: s.C2SAddr, Domain: s.Domain}
		if user != "" {
			opts.User, opts.Password = user+"@"+s.AuthDomain(), s.FocusPassword
		}
		c, err := testclient.Dial(ctx, opts)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(c.Close)
		return c
	}
	mainFocus := dial(pair.Main, "focus")
	nodeFocus := dial(pair.VNode, "focus")

	mainRoom := "webinar@" + pair.Main.MUCDomain()
	nodeRoom := "webinar@" + pair.VNode.MUCDomain()
	if p, err := nodeFocus.Join(ctx, nodeRoom, "focus"); err != nil || p.Error != nil {
		t.Fatalf("focus joins the visitor room: %v %+v", err, p.Error)
	}
	if p, err := mainFocus.Join(ctx, mainRoom, "focus"); err != nil || p.Error != nil {
		t.Fatalf("focus joins the main room: %v %+v", err, p.Error)
	}
	speaker := dial(pair.Main, "")
	if p, err := speaker.Join(ctx, mainRoom, "speaker1"); err != nil || p.Error != nil {
		t.Fatalf("speaker joins the main room: %v %+v", err, p.Error)
	}

	res, err := mainFocus.S.RequestWait(ctx, xmpp.VNodeIQ(pair.VisitorsComponent(), mainRoom, pair.VNodeID, true))
	if err != nil {
		t.Fatalf("connect-vnode: %v", err)
	}
	if typ := res.AttrValue("type"); typ != xmpp.IQResult {
		t.Fatalf("connect-vnode answered %s: %v", typ, res)
	}

	// The main participant appears in the visitor room, federated.
	if _, err := nodeFocus.AwaitPresence(ctx, nodeRoom, func(p xmpp.OccupantPresence) bool {
		return p.Nick == "speaker1" && !p.Unavailable
	}); err != nil {
		t.Fatalf("the main room's participant never showed up in the visitor room: %v", err)
	}

	visitor := dial(pair.VNode, "")
	p, err := visitor.Join(ctx, nodeRoom, "visitor1")
	if err != nil || p.Error != nil {
		t.Fatalf("visitor joins the visitor room: %v %+v", err, p.Error)
	}
	if p.Role != "visitor" {
		t.Errorf("the visitor's role is %q, want visitor", p.Role)
	}
	if _, err := nodeFocus.AwaitPresence(ctx, nodeRoom, func(p xmpp.OccupantPresence) bool {
		return p.Nick == "visitor1" && p.Role == "visitor"
	}); err != nil {
		t.Fatalf("the focus on the node did not see the visitor: %v", err)
	}
}

// A Jitsi deployment without visitors (what the other Jitsi tests start)
// keeps s2s off and lists no visitors component; the focus still creates
// rooms.
func TestJitsiDeploymentWithoutVisitors(t *testing.T) {
	plugins, err := prosodytest.JitsiPluginsDir()
	if err != nil {
		t.Fatal(err)
	}
	p := prosodytest.Start(t, prosodytest.Options{JitsiPlugins: plugins})
	if p.S2SAddr != "" {
		t.Errorf("S2SAddr %q without visitors", p.S2SAddr)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	focus, err := testclient.Dial(ctx, testclient.Options{Addr: p.C2SAddr, User: "focus@" + p.AuthDomain(), Password: p.FocusPassword})
	if err != nil {
		t.Fatal(err)
	}
	defer focus.Close()
	res, err := focus.S.RequestWait(ctx, xmpp.DiscoInfoQuery(p.Domain))
	if err != nil {
		t.Fatal(err)
	}
	components := xmpp.Components(res)
	if _, ok := components[xmpp.ComponentTypeVisitors]; ok {
		t.Errorf("a visitors component without visitors: %v", components)
	}
	if _, ok := components["room_metadata"]; !ok {
		t.Errorf("the Jitsi components are missing: %v", components)
	}
	if pr, err := focus.Join(ctx, "plain@"+p.MUCDomain(), "focus"); err != nil || pr.Error != nil {
		t.Fatalf("focus joins a room: %v %+v", err, pr.Error)
	}
}
