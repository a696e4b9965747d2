package testclient

import (
	"context"
	"testing"
	"time"

	"focal/internal/prosodytest"
	"focal/media/offer"
	"focal/media/sources"
	"focal/xmpp"
)

func dial(t *testing.T, ctx context.Context, p *prosodytest.Server) *Client {
	t.Helper()
	c, err := Dial(ctx, Options{Addr: p.C2SAddr, Domain: p.Domain})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

// awaitJingle waits until c receives a Jingle request with action from from.
func awaitJingle(t *testing.T, ctx context.Context, c *Client, from string, action xmpp.JingleAction) xmpp.Jingle {
	t.Helper()
	el, err := c.Await(ctx, func(el *xmpp.Element) bool {
		jel := el.Child(xmpp.JingleNS, "jingle")
		return xmpp.IsIQRequest(el) && el.AttrValue("from") == from && jel != nil && jel.AttrValue("action") == string(action)
	})
	if err != nil {
		t.Fatalf("awaiting %s: %v", action, err)
	}
	var j xmpp.Jingle
	if err := el.Child(xmpp.JingleNS, "jingle").Decode(&j); err != nil {
		t.Fatal(err)
	}
	return j
}

// TestMediaEndpointThroughProsody plays the focus with a second client that
// sends its requests straight to the endpoint's full JID (no MUC).
func TestMediaEndpointThroughProsody(t *testing.T) {
	p := prosodytest.Start(t, prosodytest.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	focus, alice := dial(t, ctx, p), dial(t, ctx, p)
	media := NewMedia(alice, MediaOptions{Nick: "alice", Simulcast: true, RTX: true, JSONSources: true})
	send := func(j *xmpp.Jingle) error {
		iq, err := jingleIQ(alice.JID(), j)
		if err != nil {
			t.Fatal(err)
		}
		_, err = focus.S.RequestWait(ctx, iq)
		return err
	}

	// disco#info
	res, err := focus.S.RequestWait(ctx, xmpp.NewIQ(xmpp.IQGet, "", alice.JID(), "", xmpp.NewElement(NSDiscoInfo, "query")))
	if err != nil {
		t.Fatal(err)
	}
	if n := len(res.Child(NSDiscoInfo, "query").ChildrenNamed(NSDiscoInfo, "feature")); n != len(DefaultFeatures())+1 {
		t.Errorf("disco#info has %d features: %v", n, res)
	}

	// session-initiate, answered by session-accept to the sender.
	initiate := offer.New("sid-p", focus.JID(), offer.DefaultOptions())
	offer.UseBridgeTransport(initiate, bridgeTransport(), 5000)
	initiate.BridgeSession = &xmpp.JingleBridgeSession{ID: "bs-p"}
	initiate.JSONMessage = sources.NewJSONMessage(map[string]sources.Set{"peer1": peerSources()})
	if err := send(initiate); err != nil {
		t.Fatalf("session-initiate: %v", err)
	}
	if o, err := media.AwaitSession(ctx); err != nil || o.SID != "sid-p" {
		t.Fatalf("offer %q, %v", o.SID, err)
	}
	acc := awaitJingle(t, ctx, focus, alice.JID(), xmpp.JingleSessionAccept)
	owner := ownerFor(focus.JID(), "alice")
	if acc.SID != "sid-p" || acc.Responder != alice.JID() || acc.ICETransport() == nil ||
		acc.ICETransport().Ufrag != media.Transport().Ufrag {
		t.Errorf("session-accept: sid %q responder %q transport %+v", acc.SID, acc.Responder, acc.ICETransport())
	}
	if set, err := sources.FromJingle(acc.Contents); err != nil || !sameSet(set, media.LocalSources()) {
		t.Errorf("session-accept sources %+v (%v), want %+v", set, err, media.LocalSources())
	}
	if src := acc.Content("audio").Description.Sources[0]; src.SSRCInfo == nil || src.SSRCInfo.Owner != owner {
		t.Errorf("audio source %+v, want owner %s", src, owner)
	}
	if err := media.AwaitAccepted(ctx); err != nil {
		t.Errorf("the focus's answer to session-accept: %v", err)
	}
	if err := media.AwaitRemoteSSRC(ctx, 222); err != nil {
		t.Fatal(err)
	}

	// The focus's source-add and source-remove.
	bob := sources.Set{Sources: []sources.Source{{SSRC: 5001, Media: sources.Audio, Name: "bob-a0", MSID: "bob-audio-0 b"}}}
	if err := send(&xmpp.Jingle{Action: xmpp.JingleSourceAdd, SID: "sid-p", Contents: bob.JingleContents("bob")}); err != nil {
		t.Fatal(err)
	}
	if err := media.AwaitRemoteSSRC(ctx, 5001); err != nil {
		t.Fatal(err)
	}
	if err := send(&xmpp.Jingle{Action: xmpp.JingleSourceRemove, SID: "sid-p", Contents: bob.JingleContents("bob")}); err != nil {
		t.Fatal(err)
	}
	if err := media.AwaitRemoteSSRCGone(ctx, 5001); err != nil {
		t.Fatal(err)
	}

	// Our source-add reaches the focus tagged with our owner; its error
	// comes back as the error of SendSourceRemove.
	screen := sources.Set{Sources: []sources.Source{{SSRC: 6001, Media: sources.Video, Name: "alice-v1", MSID: "alice-video-1 s", VideoType: sources.VideoDesktop}}}
	if err := media.SendSourceAdd(ctx, screen); err != nil {
		t.Fatal(err)
	}
	add := awaitJingle(t, ctx, focus, alice.JID(), xmpp.JingleSourceAdd)
	if src := add.Content("video").Description.Sources[0]; src.SSRC != 6001 || src.SSRCInfo == nil || src.SSRCInfo.Owner != owner {
		t.Errorf("source-add carries %+v", src)
	}
	focus.SetIQHandler(func(req *xmpp.Element) (*xmpp.Element, func()) {
		return xmpp.ErrorFor(req, xmpp.NewStanzaError(xmpp.BadRequest, "no")), nil
	})
	if err := media.SendSourceRemove(ctx, screen); xmpp.ConditionOf(err) != xmpp.BadRequest {
		t.Errorf("refused source-remove returned %v", err)
	}
	focus.SetIQHandler(nil)

	if err := media.SendSessionInfoICEFailed(ctx); err != nil {
		t.Fatal(err)
	}
	info := awaitJingle(t, ctx, focus, alice.JID(), xmpp.JingleSessionInfo)
	if info.ICEState == nil || info.ICEState.State != xmpp.JingleICEStateFailed || info.BridgeSession == nil || info.BridgeSession.ID != "bs-p" {
		t.Errorf("session-info: ice-state %+v, bridge-session %+v", info.ICEState, info.BridgeSession)
	}

	// transport-replace, answered by transport-accept.
	replace := offer.New("sid-p", focus.JID(), offer.DefaultOptions())
	replace.Action = xmpp.JingleTransportReplace
	newTransport := bridgeTransport()
	newTransport.Ufrag = "replaced"
	offer.UseBridgeTransport(replace, newTransport, 5000)
	if err := send(replace); err != nil {
		t.Fatal(err)
	}
	if o, err := media.AwaitTransportReplace(ctx); err != nil || o.Transport.Ufrag != "replaced" {
		t.Fatalf("transport-replace: %+v, %v", o.Transport, err)
	}
	awaitJingle(t, ctx, focus, alice.JID(), xmpp.JingleTransportAccept)

	// session-terminate from the focus ends the session.
	if err := send(&xmpp.Jingle{Action: xmpp.JingleSessionTerminate, SID: "sid-p", Reason: &xmpp.JingleReason{Condition: xmpp.JingleReasonGone}}); err != nil {
		t.Fatal(err)
	}
	if r, err := media.AwaitEnded(ctx); err != nil || r == nil || r.Condition != xmpp.JingleReasonGone {
		t.Errorf("end: %+v, %v", r, err)
	}
}

func TestRejectingEndpointAnswersTheOfferWithAnError(t *testing.T) {
	p := prosodytest.Start(t, prosodytest.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	focus, bob := dial(t, ctx, p), dial(t, ctx, p)
	NewMedia(bob, MediaOptions{RejectInitiate: true})
	iq, err := jingleIQ(bob.JID(), offer.New("sid-r", focus.JID(), offer.DefaultOptions()))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := focus.S.RequestWait(ctx, iq); xmpp.ConditionOf(err) != xmpp.NotAcceptable {
		t.Errorf("session-initiate to a rejecting endpoint: %v", err)
	}
}
