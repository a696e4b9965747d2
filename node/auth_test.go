package node_test

import (
	"net/url"
	"testing"
	"time"

	"focal/internal/testclient"
	"focal/node"
	"focal/xmpp"
)

// Authentication of the XMPP-domain type through a real Prosody: a guest
// may not create a room; a user logged in on the authenticated domain
// does, with a session; the guest connection of the same machine showing
// the session is let in and made owner of the room; after a logout the
// session is invalid, with Jitsi's <session-invalid/>.
func TestXMPPDomainAuthenticationThroughProsody(t *testing.T) {
	h := newHarness(t, func(c *node.Config) { c.AuthURL = "XMPP:" + c.UserDomain })
	ctx := testContext(t, 30*time.Second)
	if err := h.prosody.Register("alice", "secret"); err != nil {
		t.Fatal(err)
	}
	room := h.room("secured")
	guest := h.client(ctx)
	if _, err := guest.RequestConference(ctx, h.component(), xmpp.ConferenceIQ{Room: room, MachineUID: "m-1"}); xmpp.ConditionOf(err) != xmpp.NotAuthorized {
		t.Fatalf("a guest creating a room: %v, want not-authorized", err)
	}

	user, err := testclient.Dial(ctx, testclient.Options{Addr: h.prosody.C2SAddr, User: "alice@" + h.prosody.AuthDomain(), Password: "secret"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(user.Close)
	res, err := user.RequestConference(ctx, h.component(), xmpp.ConferenceIQ{Room: room, MachineUID: "m-1"})
	if err != nil || !res.Ready || res.SessionID == "" || res.Identity != "alice@"+h.prosody.AuthDomain() {
		t.Fatalf("the user's request: %+v, %v", res, err)
	}
	if p := property(res, "authentication"); p != "true" {
		t.Errorf("authentication property %q, want true", p)
	}
	user.Close()

	again, err := guest.RequestConference(ctx, h.component(), xmpp.ConferenceIQ{Room: room, SessionID: res.SessionID, MachineUID: "m-1"})
	if err != nil || !again.Ready || again.Identity != res.Identity {
		t.Fatalf("the guest showing the session: %+v, %v", again, err)
	}
	if _, err := guest.Join(ctx, room, "alice"); err != nil {
		t.Fatal(err)
	}
	if _, err := guest.AwaitPresence(ctx, room, func(p xmpp.OccupantPresence) bool {
		return p.Nick == "alice" && p.Affiliation == xmpp.AffiliationOwner
	}); err != nil {
		t.Fatalf("the authenticated guest was not made owner: %v", err)
	}

	logout := xmpp.NewIQ(xmpp.IQSet, "", h.component(), "", xmpp.NewElement(xmpp.NSFocus, "logout", "session-id", res.SessionID))
	if _, err := guest.S.RequestWait(ctx, logout); err != nil {
		t.Fatalf("logout: %v", err)
	}
	_, err = guest.RequestConference(ctx, h.component(), xmpp.ConferenceIQ{Room: room, SessionID: res.SessionID, MachineUID: "m-1"})
	se, ok := err.(xmpp.StanzaError)
	if !ok || se.Condition != xmpp.NotAcceptable || se.App == nil || se.App.Name.Local != "session-invalid" {
		t.Fatalf("the session after its logout: %v", err)
	}
}

func property(c xmpp.ConferenceIQ, name string) string {
	for _, p := range c.Properties {
		if p.Name == name {
			return p.Value
		}
	}
	return ""
}

// External authentication (EXT_JWT): Prosody admitted the users of the
// domain (with a token, in a Jitsi deployment; anonymously here), so they
// create rooms; the answer says the authority is external; the login page
// is the configured one, filled in.
func TestExternalAuthenticationThroughProsody(t *testing.T) {
	h := newHarness(t, func(c *node.Config) {
		c.AuthURL = "EXT_JWT:" + c.Domain
		c.LoginURL = "https://login.example.com/sso?room={room}&m={machine_uid}"
	})
	ctx := testContext(t, 30*time.Second)
	cl := h.client(ctx)
	res, err := cl.RequestConference(ctx, h.component(), xmpp.ConferenceIQ{Room: h.room("sso"), MachineUID: "m-1"})
	if err != nil || !res.Ready || res.SessionID == "" || property(res, "authentication") != "true" || property(res, "externalAuth") != "true" {
		t.Fatalf("an externally authenticated user's request: %+v, %v", res, err)
	}
	q := xmpp.NewIQ(xmpp.IQGet, "", h.component(), "", xmpp.NewElement(xmpp.NSFocus, "login-url", "room", h.room("sso"), "machine-uid", "m 1"))
	ans, err := cl.S.RequestWait(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	got := ans.Child(xmpp.NSFocus, "login-url").AttrValue("url")
	if want := url.QueryEscape("https://login.example.com/sso?room=sso&m=m+1"); got != want {
		t.Errorf("login url %q, want %q", got, want)
	}
	noUID := xmpp.NewIQ(xmpp.IQGet, "", h.component(), "", xmpp.NewElement(xmpp.NSFocus, "login-url", "room", h.room("sso")))
	if _, err := cl.S.RequestWait(ctx, noUID); xmpp.ConditionOf(err) != xmpp.BadRequest {
		t.Errorf("login-url without a machine uid: %v, want bad-request", err)
	}
}
