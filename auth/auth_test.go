package auth

import (
	"testing"
)

func TestParseURL(t *testing.T) {
	c, err := ParseURL("XMPP:auth.meet.jitsi")
	if err != nil || c.Domain != "auth.meet.jitsi" || c.Lifetime != DefaultLifetime || !c.Enabled() {
		t.Fatalf("ParseURL: %+v, %v", c, err)
	}
	if c, err := ParseURL(""); err != nil || c.Enabled() {
		t.Fatalf("ParseURL(\"\"): %+v, %v", c, err)
	}
	ext, err := ParseURL("EXT_JWT:meet.jitsi")
	if err != nil || !ext.External || ext.Lifetime != ExternalLifetime || ext.Domain != "meet.jitsi" {
		t.Fatalf("ParseURL(EXT_JWT): %+v, %v", ext, err)
	}
	for _, bad := range []string{"auth.meet.jitsi", "SHIB:auth.meet.jitsi", "XMPP:", "XMPP:user@auth.meet.jitsi", "XMPP:a b"} {
		if c, err := ParseURL(bad); err == nil {
			t.Errorf("ParseURL(%q) = %+v, want an error", bad, c)
		}
	}
}

func TestIdentity(t *testing.T) {
	c := Config{Domain: "auth.meet.jitsi"}
	if id, ok := c.Identity("alice@auth.meet.jitsi/web-1"); !ok || id != "alice@auth.meet.jitsi" {
		t.Errorf("user of the domain: %q %v", id, ok)
	}
	for _, guest := range []string{"x1y2@meet.jitsi/abc", "auth.meet.jitsi", "", "alice@auth.meet.jitsi.evil/x"} {
		if id, ok := c.Identity(guest); ok {
			t.Errorf("%q authenticated as %q", guest, id)
		}
	}
	if _, ok := (Config{}).Identity("alice@auth.meet.jitsi/x"); ok {
		t.Error("authenticated with authentication off")
	}
}

func TestSessionIDsCarryTheirRoom(t *testing.T) {
	const room = "room1@conference.meet.jitsi"
	a, b := NewSessionID(room), NewSessionID(room)
	if a == b {
		t.Fatal("two sessions with one id")
	}
	if got, err := RoomOfSession(a); err != nil || got != room {
		t.Fatalf("RoomOfSession: %q, %v", got, err)
	}
	for _, bad := range []string{"", "abc", "zz" + a[2:], a[:32] + ".", a[:31] + "." + a[33:], "not-a-session"} {
		if r, err := RoomOfSession(bad); err == nil {
			t.Errorf("RoomOfSession(%q) = %q", bad, r)
		}
	}
}

func FuzzRoomOfSession(f *testing.F) {
	f.Add(NewSessionID("r@c"))
	f.Add("x.y")
	f.Fuzz(func(t *testing.T, id string) {
		room, err := RoomOfSession(id)
		if err == nil && room == "" {
			t.Fatalf("%q: empty room", id)
		}
	})
}

func TestLoginPage(t *testing.T) {
	if got := (Config{Domain: "a"}).LoginPage("room1", "m"); got != "./room1?login=true" {
		t.Errorf("XMPP login page %q", got)
	}
	if got := (Config{Domain: "a", External: true}).LoginPage("room1", "m"); got != "" {
		t.Errorf("external login page %q, want none", got)
	}
	c := Config{Domain: "a", External: true, LoginURL: "https://login.example.com/sso?room={room}&m={machine_uid}"}
	if got := c.LoginPage("r&1", "m 2"); got != "https://login.example.com/sso?room=r%261&m=m+2" {
		t.Errorf("templated login page %q", got)
	}
}
