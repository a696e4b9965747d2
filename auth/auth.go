// Package auth authenticates conference requests as Jicofo's XMPP-domain
// authority does: users logged in on one XMPP domain are authenticated,
// only they create rooms, and their sessions let the same browser, back
// on the guest domain, in as themselves.
package auth

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"mellium.im/xmpp/jid"
)

// DefaultLifetime is how long a session lives without being used
// (Jicofo's authentication-lifetime).
const DefaultLifetime = 24 * time.Hour

// ExternalLifetime is the lifetime of sessions of an external authority
// (JWT): the token is the credential, a session only bridges a reconnect
// (Jicofo fixes it at a minute).
const ExternalLifetime = time.Minute

// Config of the authentication of conference requests. The zero value
// authenticates nobody and lets anybody create rooms.
type Config struct {
	// Domain is the XMPP domain whose users are authenticated ("" turns
	// authentication off).
	Domain string
	// Lifetime is how long a session lives without being used.
	Lifetime time.Duration
	// External: the users were authenticated by something else than their
	// XMPP login on Domain — Prosody checked their JWT (EXT_JWT:<domain>)
	// — and the client finds its own login page.
	External bool
	// LoginURL is the login page answered to <login-url/>, with {room}
	// and {machine_uid} replaced (URL-escaped): a Shibboleth- or
	// SAML-protected page that sends the user back with a token. Empty:
	// Jitsi Meet's own "./<room>?login=true" for the XMPP type, none for
	// the external one.
	LoginURL string
	// TokenSecret, if set, is the secret Prosody's token authentication
	// signs with (its app_secret): a request's token must then verify
	// (VerifyToken), so that a client cannot claim another user's id or
	// group for the visitor allow-lists. Unset, tokens are read unchecked,
	// as Jicofo reads them.
	TokenSecret []byte
}

// CheckToken says why a request's token is refused, or nil: a token that
// cannot be read is malformed (bad-request), one that does not verify
// against TokenSecret is rejected (not-authorized). No token is no
// claim, and fine.
func (c Config) CheckToken(raw string, now time.Time) error {
	if raw == "" {
		return nil
	}
	if len(c.TokenSecret) > 0 {
		return VerifyToken(raw, c.TokenSecret, now)
	}
	_, err := ParseToken(raw)
	return err
}

// ParseURL reads Jicofo's legacy authentication setting: "XMPP:<domain>"
// (the domain users log in on) or "EXT_JWT:<domain>" (the domain whose
// users Prosody admitted with a token). "" is no authentication.
func ParseURL(s string) (Config, error) {
	if s == "" {
		return Config{}, nil
	}
	kind, domain, ok := strings.Cut(s, ":")
	var c Config
	switch {
	case ok && strings.EqualFold(kind, "XMPP"):
		c.Lifetime = DefaultLifetime
	case ok && strings.EqualFold(kind, "EXT_JWT"):
		c.Lifetime, c.External = ExternalLifetime, true
	default:
		return Config{}, fmt.Errorf("auth url %q: want XMPP:<domain> or EXT_JWT:<domain>", s)
	}
	d, err := jid.Parse(domain)
	if err != nil || d.Localpart() != "" || d.Resourcepart() != "" {
		return Config{}, fmt.Errorf("auth url %q: %q is not a domain", s, domain)
	}
	c.Domain = d.Domainpart()
	return c, nil
}

// LoginPage is where a client sends its user to log in for room
// (localpart roomName), or "" when the client knows better (external
// authority without a template).
func (c Config) LoginPage(roomName, machineUID string) string {
	if c.LoginURL != "" {
		return strings.NewReplacer("{room}", url.QueryEscape(roomName), "{machine_uid}", url.QueryEscape(machineUID)).Replace(c.LoginURL)
	}
	if c.External {
		return ""
	}
	return "./" + roomName + "?login=true"
}

// Enabled says whether requests are authenticated at all.
func (c Config) Enabled() bool { return c.Domain != "" }

// Identity is the bare JID of a user logged in on the authenticated
// domain, or false for anybody else (a guest).
func (c Config) Identity(from string) (string, bool) {
	if !c.Enabled() {
		return "", false
	}
	j, err := jid.Parse(from)
	if err != nil || j.Localpart() == "" || !strings.EqualFold(j.Domainpart(), c.Domain) {
		return "", false
	}
	return j.Bare().String(), true
}

// NewSessionID returns a fresh session id for room. The room is part of
// it, so that a session can be found from its id alone (a logout names
// nothing else): sessions live with their room's conference.
func NewSessionID(room string) string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("crypto/rand failed: " + err.Error())
	}
	return hex.EncodeToString(b[:]) + "." + base64.RawURLEncoding.EncodeToString([]byte(room))
}

// ErrBadSessionID says a session id was not made by NewSessionID.
var ErrBadSessionID = errors.New("auth: not a session id of this focus")

// RoomOfSession returns the room a session id was made for.
func RoomOfSession(id string) (string, error) {
	random, room, ok := strings.Cut(id, ".")
	if !ok || len(random) != 32 {
		return "", ErrBadSessionID
	}
	if _, err := hex.DecodeString(random); err != nil {
		return "", ErrBadSessionID
	}
	b, err := base64.RawURLEncoding.DecodeString(room)
	if err != nil || len(b) == 0 {
		return "", ErrBadSessionID
	}
	return string(b), nil
}
