package conference

import (
	"testing"

	"focal/auth"
	"focal/proto"
	"focal/xmpp"
)

// Authentication as Jicofo's XMPP-domain authority does it.

const testAuthDomain = "auth." + testDomain

func withAuth(c *Config) {
	c.Auth = auth.Config{Domain: testAuthDomain, Lifetime: auth.DefaultLifetime}
}

// ask sends req and returns the conference's answer.
func (c *tconf) ask(req *focalpb.ConferenceRequest) *focalpb.ConferenceResponse {
	c.t.Helper()
	req.Room = c.room
	c.send(req)
	return awaitRecorded[*focalpb.ConferenceResponse](c, "the answer to "+req.From, nil)
}

func propertyOf(res *focalpb.ConferenceResponse, name string) string {
	for _, p := range res.Properties {
		if p.Name == name {
			return p.Value
		}
	}
	return ""
}

// A user of the authenticated domain gets a session (id and identity in
// the answer); the same machine's guest connection showing it is that
// user, and is made owner when it joins; a guest without a session is
// let into the room but not made owner (no auto-owner with
// authentication); a session shown with another machine uid, an unknown
// one, or a user's request without a machine uid are refused.
func TestXMPPDomainAuthentication(t *testing.T) {
	h := newHarness(t, withAuth)
	c := h.start("room1@conference." + testDomain)
	c.request() // the directory let it create the room
	c.selfPresence()
	awaitRecorded[*focalpb.ConferenceResponse](c, "the first answer", nil)
	c.roomInfo("")

	user := c.ask(&focalpb.ConferenceRequest{From: "alice@" + testAuthDomain + "/login", MachineUid: "m-1"})
	if !user.Ready || user.SessionId == "" || user.Identity != "alice@"+testAuthDomain || propertyOf(user, "authentication") != "true" || propertyOf(user, "externalAuth") != "false" {
		t.Fatalf("the user's answer %v", user)
	}
	if room, err := auth.RoomOfSession(user.SessionId); err != nil || room != c.room {
		t.Errorf("session id %q names room %q (%v)", user.SessionId, room, err)
	}
	guest := c.ask(&focalpb.ConferenceRequest{From: "x1@" + testDomain + "/g1", SessionId: user.SessionId, MachineUid: "m-1"})
	if !guest.Ready || guest.SessionId != user.SessionId || guest.Identity != user.Identity {
		t.Fatalf("the guest with the session: %v", guest)
	}

	for _, tc := range []struct {
		what    string
		req     *focalpb.ConferenceRequest
		want    string
		invalid bool
	}{
		{"another machine", &focalpb.ConferenceRequest{From: "x2@" + testDomain + "/g", SessionId: user.SessionId, MachineUid: "m-2"}, xmpp.NotAcceptable, false},
		{"an unknown session", &focalpb.ConferenceRequest{From: "x2@" + testDomain + "/g", SessionId: auth.NewSessionID(c.room), MachineUid: "m-1"}, xmpp.NotAcceptable, true},
		{"a user without a machine uid", &focalpb.ConferenceRequest{From: "bob@" + testAuthDomain + "/login"}, xmpp.NotAcceptable, false},
	} {
		res := c.ask(tc.req)
		if res.Error == nil || res.Error.Condition != tc.want || res.Error.SessionInvalid != tc.invalid {
			t.Errorf("%s: %v, want %s (session-invalid %v)", tc.what, res, tc.want, tc.invalid)
		}
	}

	other := c.ask(&focalpb.ConferenceRequest{From: "x3@" + testDomain + "/g3"})
	if !other.Ready || other.SessionId != "" || other.Identity != "" {
		t.Errorf("a guest without a session: %v", other)
	}
	c.joins("guest", "x3@"+testDomain+"/g3")
	c.wire.awaitRequest(t, "disco#info to guest", discoTo(c.occupant("guest")))
	c.joins("alice", "x1@"+testDomain+"/g1")
	c.wire.awaitRequest(t, "owner grant to alice's guest JID", ownerGrant(c.room, "x1@"+testDomain)).result(nil)
	c.wire.awaitRequest(t, "disco#info to alice", discoTo(c.occupant("alice")))
	c.nothingMore("the guest without a session is not made owner")

	c.send(&focalpb.Logout{Room: c.room, SessionId: user.SessionId})
	if res := awaitRecorded[*focalpb.ConferenceResponse](c, "the logout's answer", nil); res.Error != nil {
		t.Errorf("logout: %v", res)
	}
	c.send(&focalpb.Logout{Room: c.room, SessionId: user.SessionId})
	if res := awaitRecorded[*focalpb.ConferenceResponse](c, "the second logout's answer", nil); res.Error == nil || !res.Error.SessionInvalid {
		t.Errorf("a second logout of the session: %v", res)
	}
	if res := c.ask(&focalpb.ConferenceRequest{From: "x1@" + testDomain + "/g1", SessionId: user.SessionId, MachineUid: "m-1"}); res.Error == nil || !res.Error.SessionInvalid {
		t.Errorf("the session after its logout: %v", res)
	}
}
