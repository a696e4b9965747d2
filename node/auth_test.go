package node_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"focal/auth"
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

// Jicofo's ten scenarios of its XMPP-domain authority, in its order,
// through a real Prosody: alice and bob log in on the authenticated
// domain, the guest connection is anonymous. Each step builds on the
// ones before it, as the sessions do.
func TestJicofosTenXMPPDomainAuthScenarios(t *testing.T) {
	h := newHarness(t, func(c *node.Config) { c.AuthURL = "XMPP:" + c.UserDomain })
	ctx := testContext(t, 60*time.Second)
	for _, name := range []string{"alice", "bob"} {
		if err := h.prosody.Register(name, "secret"); err != nil {
			t.Fatal(err)
		}
	}
	login := func(name string) *testclient.Client {
		c, err := testclient.Dial(ctx, testclient.Options{Addr: h.prosody.C2SAddr, User: name + "@" + h.prosody.AuthDomain(), Password: "secret"})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(c.Close)
		return c
	}
	alice, bob, guest := login("alice"), login("bob"), h.client(ctx)
	room := h.room("ten")
	ask := func(c *testclient.Client, sessionID, machineUID string) (xmpp.ConferenceIQ, error) {
		return c.RequestConference(ctx, h.component(), xmpp.ConferenceIQ{Room: room, SessionID: sessionID, MachineUID: machineUID})
	}
	notAcceptable := func(err error, text string) bool {
		se, ok := err.(xmpp.StanzaError)
		return ok && se.Condition == xmpp.NotAcceptable && se.App == nil && strings.Contains(se.Text, text)
	}
	var aliceSession string
	steps := []struct {
		name string
		run  func() error
	}{
		{"1 a guest cannot create a room", func() error {
			if _, err := ask(guest, "", "guest-machine"); xmpp.ConditionOf(err) != xmpp.NotAuthorized {
				return fmt.Errorf("got %v, want not-authorized", err)
			}
			return nil
		}},
		{"2 a user of the authenticated domain gets a session", func() error {
			res, err := ask(alice, "", "alice-machine")
			if err != nil || !res.Ready || res.SessionID == "" || res.Identity != "alice@"+h.prosody.AuthDomain() {
				return fmt.Errorf("got %+v, %v", res, err)
			}
			aliceSession = res.SessionID
			return nil
		}},
		{"3 a guest joins the existing room without a session", func() error {
			res, err := ask(guest, "", "guest-machine")
			if err != nil || !res.Ready || res.SessionID != "" || res.Identity != "" {
				return fmt.Errorf("got %+v, %v", res, err)
			}
			return nil
		}},
		{"4 the guest connection with alice's session is alice", func() error {
			res, err := ask(guest, aliceSession, "alice-machine")
			if err != nil || res.SessionID != aliceSession || res.Identity != "alice@"+h.prosody.AuthDomain() {
				return fmt.Errorf("got %+v, %v", res, err)
			}
			return nil
		}},
		{"5 an unknown session is invalid", func() error {
			for _, id := range []string{auth.NewSessionID(room), "made-up"} {
				_, err := ask(guest, id, "alice-machine")
				if se, ok := err.(xmpp.StanzaError); !ok || se.Condition != xmpp.NotAcceptable || se.App == nil || se.App.Name.Local != "session-invalid" {
					return fmt.Errorf("session %q: got %v, want not-acceptable with <session-invalid/>", id, err)
				}
			}
			return nil
		}},
		{"6 alice's session from another machine is refused", func() error {
			if _, err := ask(guest, aliceSession, "other-machine"); !notAcceptable(err, "machine UID mismatch") {
				return fmt.Errorf("got %v, want not-acceptable, machine UID mismatch", err)
			}
			return nil
		}},
		{"7 bob cannot use alice's stolen session", func() error {
			if _, err := ask(bob, aliceSession, "bob-machine"); !notAcceptable(err, "machine UID mismatch") {
				return fmt.Errorf("got %v, want not-acceptable, machine UID mismatch", err)
			}
			return nil
		}},
		{"8 a session without a machine uid is refused", func() error {
			if _, err := ask(guest, aliceSession, ""); !notAcceptable(err, "machine UID mismatch or empty") {
				return fmt.Errorf("got %v, want not-acceptable, machine UID mismatch or empty", err)
			}
			return nil
		}},
		{"9 no session is created without a machine uid", func() error {
			if _, err := ask(bob, "", ""); !notAcceptable(err, "machine-uid") {
				return fmt.Errorf("got %v, want not-acceptable, missing machine-uid", err)
			}
			return nil
		}},
		{"10 the same user on another machine gets another session", func() error {
			res, err := ask(alice, "", "alice-laptop")
			if err != nil || res.SessionID == "" || res.SessionID == aliceSession || res.Identity != "alice@"+h.prosody.AuthDomain() {
				return fmt.Errorf("got %+v, %v (first session %q)", res, err, aliceSession)
			}
			if again, err := ask(guest, aliceSession, "alice-machine"); err != nil || again.SessionID != aliceSession {
				return fmt.Errorf("the first session after the second was made: %+v, %v", again, err)
			}
			return nil
		}},
	}
	for _, s := range steps {
		if err := s.run(); err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
	}
}

// hs256 signs claims with secret as Prosody's token authentication does.
func hs256(claims string, secret []byte) string {
	enc := base64.RawURLEncoding.EncodeToString
	unsigned := enc([]byte(`{"alg":"HS256","typ":"JWT"}`)) + "." + enc([]byte(claims))
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(unsigned))
	return unsigned + "." + enc(mac.Sum(nil))
}

// A request's token is checked before anything acts on it, through
// Prosody: an unreadable one is a bad request; with the deployment's
// secret configured, one the secret did not sign (made up to claim
// another user's id for the visitor allow-lists) is not authorized, and
// creates no conference; a signed one is fine.
func TestRequestTokensAreCheckedBeforeAnythingActsOnThem(t *testing.T) {
	secret := []byte("prosody-app-secret")
	secretFile := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(secretFile, append(secret, '\n'), 0o600); err != nil {
		t.Fatal(err)
	}
	h := newHarness(t, func(c *node.Config) { c.AuthTokenSecretFile = secretFile })
	ctx := testContext(t, 30*time.Second)
	cl := h.client(ctx)
	exp := fmt.Sprintf(`"exp":%d`, time.Now().Add(time.Hour).Unix())
	cases := []struct {
		name, token string
		want        string
	}{
		{"truncated", hs256(`{"context":{"user":{"id":"u1"}},`+exp+`}`, secret)[:40], xmpp.BadRequest},
		{"not a JWT", "opaque-token", xmpp.BadRequest},
		{"signed by someone else", hs256(`{"context":{"user":{"id":"moderator-1"}},`+exp+`}`, []byte("guessed")), xmpp.NotAuthorized},
		{"expired", hs256(`{"exp":1000}`, secret), xmpp.NotAuthorized},
	}
	for _, c := range cases {
		room := h.room("tok-" + strings.ReplaceAll(c.name, " ", "-"))
		_, err := cl.RequestConference(ctx, h.component(), xmpp.ConferenceIQ{Room: room, Token: c.token, Properties: []xmpp.Property{{Name: "visitors-version", Value: "1"}}})
		if got := xmpp.ConditionOf(err); got != c.want {
			t.Errorf("%s: %v, want %s", c.name, err, c.want)
		}
	}
	res, err := cl.RequestConference(ctx, h.component(), xmpp.ConferenceIQ{Room: h.room("tok-good"), Token: hs256(`{"context":{"user":{"id":"u1"}},`+exp+`}`, secret)})
	if err != nil || !res.Ready {
		t.Fatalf("a signed token: %+v, %v", res, err)
	}
	if views := h.debug(ctx); len(views) != 1 {
		t.Errorf("conferences %v, want only the signed token's", views)
	}
}
