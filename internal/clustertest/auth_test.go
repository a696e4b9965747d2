package clustertest_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"focal/internal/clustertest"
	"focal/internal/prosodytest"
	"focal/internal/testclient"
	"focal/xmpp"
)

// An authentication session outlives the node that made it: alice, logged
// in on the authenticated domain, opens a session; the node driving her
// room is killed; a guest connection showing her session (a reload of her
// page) is still alice, the gate still refuses guests a new room, and the
// session can still be ended.
func TestAuthSessionSurvivesItsOwnersKill(t *testing.T) {
	authDomain := "auth." + prosodytest.DefaultDomain
	c := clustertest.Start(t, clustertest.Options{Nodes: 3, Bridges: 1, Args: []string{"--auth_url", "XMPP:" + authDomain}})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := c.WaitCluster(ctx, 3); err != nil {
		t.Fatal(err)
	}
	if err := c.Prosody.Register("alice", "secret"); err != nil {
		t.Fatal(err)
	}
	alice, err := testclient.Dial(ctx, testclient.Options{Addr: c.Prosody.C2SAddr, User: "alice@" + authDomain, Password: "secret"})
	if err != nil {
		t.Fatal(err)
	}
	defer alice.Close()
	room := c.Room("secured")
	res, err := alice.RequestConference(ctx, c.Component(), xmpp.ConferenceIQ{Room: room, MachineUID: "alice-machine"})
	if err != nil || !res.Ready || res.SessionID == "" {
		t.Fatalf("alice's request: %+v, %v", res, err)
	}
	guest, err := c.Client(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := guest.RequestConference(ctx, c.Component(), xmpp.ConferenceIQ{Room: room, SessionID: res.SessionID, MachineUID: "alice-machine"}); err != nil || got.Identity != res.Identity {
		t.Fatalf("the guest with alice's session before the kill: %+v, %v", got, err)
	}

	owner := roomOwner(ctx, t, c, room)
	killed := time.Now()
	if err := owner.Kill(); err != nil {
		t.Fatal(err)
	}
	reloaded, err := c.Client(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// Until the next owner drives the room, a request may be answered
	// ready='false' (Jitsi Meet asks again) or, while no node holds the
	// focus component, refused by Prosody: counted, as a page would see it.
	var got xmpp.ConferenceIQ
	notReady, refused := 0, 0
	for {
		got, err = reloaded.RequestConference(ctx, c.Component(), xmpp.ConferenceIQ{Room: room, SessionID: res.SessionID, MachineUID: "alice-machine"})
		if err == nil && got.Ready {
			break
		}
		switch {
		case err == nil:
			notReady++
		case xmpp.ConditionOf(err) == xmpp.RemoteServerTimeout || xmpp.ConditionOf(err) == xmpp.ServiceUnavailable:
			refused++
		default:
			t.Fatalf("alice's session after %s was killed: %v", owner.Name(), err)
		}
		if ctx.Err() != nil {
			t.Fatalf("alice's session never served again: %v", err)
		}
		time.Sleep(100 * time.Millisecond) // Jitsi Meet's own retry pace is slower
	}
	t.Logf("alice's session served again %v after %s was killed (%d ready='false', %d refused by Prosody first)",
		time.Since(killed).Round(time.Millisecond), owner.Name(), notReady, refused)
	if got.Identity != res.Identity || got.SessionID != res.SessionID || property(got, "authentication") != "true" {
		t.Errorf("the session after the kill: %+v", got)
	}
	t.Logf("%s drives the room now", roomOwner(ctx, t, c, room).Name())
	if _, err := reloaded.RequestConference(ctx, c.Component(), xmpp.ConferenceIQ{Room: c.Room("guests-own"), MachineUID: "g"}); xmpp.ConditionOf(err) != xmpp.NotAuthorized {
		t.Errorf("a guest creating a room after the kill: %v, want not-authorized", err)
	}
	logout := xmpp.NewIQ(xmpp.IQSet, "", c.Component(), "", xmpp.NewElement(xmpp.NSFocus, "logout", "session-id", res.SessionID))
	if _, err := reloaded.S.RequestWait(ctx, logout); err != nil {
		t.Fatalf("logout after the kill: %v", err)
	}
	_, err = reloaded.RequestConference(ctx, c.Component(), xmpp.ConferenceIQ{Room: room, SessionID: res.SessionID, MachineUID: "alice-machine"})
	if se, ok := err.(xmpp.StanzaError); !ok || se.Condition != xmpp.NotAcceptable || se.App == nil || se.App.Name.Local != "session-invalid" {
		t.Fatalf("the session after its logout: %v, want session-invalid", err)
	}
}

// roomOwner is the running node that drives room, as the nodes say.
func roomOwner(ctx context.Context, t *testing.T, c *clustertest.Cluster, room string) *clustertest.Node {
	t.Helper()
	for {
		for _, n := range c.Running() {
			rooms, err := n.OwnRooms(ctx)
			if err == nil && slices.Contains(rooms, room) {
				return n
			}
		}
		select {
		case <-ctx.Done():
			t.Fatalf("no running node drives %s", room)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func property(c xmpp.ConferenceIQ, name string) string {
	v, _ := c.Property(name)
	return v
}
