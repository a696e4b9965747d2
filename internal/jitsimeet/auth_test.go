package jitsimeet_test

import (
	"strings"
	"testing"
	"time"

	"focal/internal/clustertest"
	"focal/internal/jitsimeet"
	"focal/internal/prosodytest"
)

// Jitsi Meet on a secure domain (Jicofo's XMPP-domain authentication), the
// real client throughout: a guest page may not create the room
// (lib-jitsi-meet's "authentication required"); its user logs in with the
// library's own authenticateAndUpgradeRole, whose second connection gets
// a session from the focus; the page joins again showing the session and
// is moderator; a second guest page then joins the existing room, as a
// participant, and the two are in session with each other's tracks.
func TestSecureDomainLoginLetsTheUserCreateTheRoom(t *testing.T) {
	authDomain := "auth." + prosodytest.DefaultDomain
	d, ctx := deploy(t, clustertest.Options{Args: []string{"--auth_url", "XMPP:" + authDomain}})
	if err := d.c.Prosody.Register("alice", "secret"); err != nil {
		t.Fatal(err)
	}
	pages := d.open(ctx, t, "page", 2)
	user, guest := pages[0], pages[1]
	cfg := jitsimeet.ConfigFor(d.c.Prosody, "secured")

	if err := user.Join(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	refused, err := user.Await(ctx, "authentication required", func(e jitsimeet.Event) bool {
		return e.Type == jitsimeet.ConferenceFailed && strings.Contains(e.Detail, "authenticationRequired")
	})
	if err != nil {
		t.Fatal(err)
	}
	mark := user.Mark()
	loginStart := time.Now()
	if err := user.Do(ctx, nil, "login", "alice@"+authDomain, "secret"); err != nil {
		t.Fatalf("login: %v", err)
	}
	loggedIn := time.Since(loginStart)
	if err := user.Do(ctx, nil, "join"); err != nil {
		t.Fatal(err)
	}
	joined, err := user.AwaitAfter(ctx, mark, "CONFERENCE_JOINED after the login", func(e jitsimeet.Event) bool {
		return e.Type == jitsimeet.ConferenceJoined
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := user.AwaitAfter(ctx, mark, "moderator role after the login", func(e jitsimeet.Event) bool {
		return (e.Type == jitsimeet.ConferenceJoined && e.Moderator) ||
			(e.Type == jitsimeet.UserRoleChanged && e.Local && e.Detail == "moderator")
	}); err != nil {
		t.Fatal(err)
	}
	t.Logf("%s: refused %v after join(); login (session from the focus) took %v; joined as alice %v after join()",
		user.Name, refused.Since().Round(time.Millisecond), loggedIn.Round(time.Millisecond), joined.Since().Round(time.Millisecond))

	if err := guest.Join(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	guestJoined, err := guest.AwaitJoined(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if guestJoined.Moderator {
		t.Errorf("%s, a guest, joined as moderator", guest.Name)
	}
	awaitTracksAfter(ctx, t, user, mark, guestJoined.Participant)
	awaitTracksAfter(ctx, t, guest, 0, joined.Participant)
	for i, p := range pages {
		for _, e := range p.Failures() {
			if i == 0 && e.Type == jitsimeet.ConferenceFailed && strings.Contains(e.Detail, "authenticationRequired") {
				continue // the refusal this test starts with
			}
			t.Errorf("%s: %s", p.Name, e)
		}
	}
}
