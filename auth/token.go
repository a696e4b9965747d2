package auth

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// MaxTokenLen bounds the token ParseToken reads (the XMPP and HTTP parsers cap
// the request's token at the same size); JWTs with group claims
// exceed 1 KiB, none legitimately reaches this.
const MaxTokenLen = 16 << 10

// Token is what the focus reads from a client's JWT: who the user is and
// the group they belong to. Prosody validated the token when the client
// logged in; the focus only reads it (as Jicofo does), to decide whether
// the user belongs in a room's main room or among its visitors, never to
// grant anything.
type Token struct {
	UserID string // context.user.id
	Group  string // context.group
}

// ErrMalformedToken says a token is not a JWT whose claims can be read.
var ErrMalformedToken = errors.New("auth: malformed token")

// ParseToken reads the claims of a JWT without checking its signature. A
// "Bearer " prefix (the HTTP Authorization header's) is accepted. A token
// that is not three base64url parts, whose claims are not a JSON object,
// or whose context fields have the wrong types is ErrMalformedToken; a
// well-formed token without a context is a Token with empty fields.
func ParseToken(raw string) (Token, error) {
	raw = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(raw), "Bearer "))
	if raw == "" || len(raw) > MaxTokenLen {
		return Token{}, fmt.Errorf("%w: length %d", ErrMalformedToken, len(raw))
	}
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		return Token{}, fmt.Errorf("%w: %d parts, want 3", ErrMalformedToken, len(parts))
	}
	payload, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return Token{}, fmt.Errorf("%w: claims: %v", ErrMalformedToken, err)
	}
	var claims struct {
		Context *struct {
			User *struct {
				ID any `json:"id"`
			} `json:"user"`
			Group any `json:"group"`
		} `json:"context"`
	}
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.UseNumber()
	if err := dec.Decode(&claims); err != nil {
		return Token{}, fmt.Errorf("%w: claims: %v", ErrMalformedToken, err)
	}
	var t Token
	if claims.Context == nil {
		return t, nil
	}
	if claims.Context.User != nil {
		if t.UserID, err = claimString("context.user.id", claims.Context.User.ID); err != nil {
			return Token{}, err
		}
	}
	if t.Group, err = claimString("context.group", claims.Context.Group); err != nil {
		return Token{}, err
	}
	return t, nil
}

// claimString reads a claim that should be a string; numbers are accepted
// in their JSON text, since deployments issue numeric user ids.
func claimString(name string, v any) (string, error) {
	switch t := v.(type) {
	case nil:
		return "", nil
	case string:
		return t, nil
	case json.Number:
		return t.String(), nil
	default:
		return "", fmt.Errorf("%w: %s is a %T", ErrMalformedToken, name, v)
	}
}

// Allowed says whether the user of t is on a room's allow-list: one of ids
// is the user's id or group. A nil list allows everybody (the room has no
// list); an empty one nobody.
func (t Token) Allowed(ids []string) bool {
	if ids == nil {
		return true
	}
	for _, id := range ids {
		if id != "" && (id == t.UserID || id == t.Group) {
			return true
		}
	}
	return false
}

// ErrTokenRejected says a token does not verify against the deployment's
// secret: another signature (forged, or signed by someone else), another
// algorithm, or expired.
var ErrTokenRejected = errors.New("auth: token rejected")

// VerifyToken checks raw as Prosody's token authentication does with a
// shared secret (app_secret): an HS256 signature by secret and, when the
// token has one, an expiry (exp, seconds since the epoch) after now. A
// token Prosody admitted verifies; one a client made up, or changed, does
// not. Tokens signed with keys (RS256, Prosody's asap_key_server) cannot
// be checked with a secret: the focus then reads them unchecked, as Jicofo.
func VerifyToken(raw string, secret []byte, now time.Time) error {
	raw = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(raw), "Bearer "))
	if _, err := ParseToken(raw); err != nil {
		return err
	}
	parts := strings.Split(raw, ".")
	header, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[0], "="))
	if err != nil {
		return fmt.Errorf("%w: header: %v", ErrMalformedToken, err)
	}
	var h struct {
		Alg string `json:"alg"`
	}
	if err := json.Unmarshal(header, &h); err != nil {
		return fmt.Errorf("%w: header: %v", ErrMalformedToken, err)
	}
	if h.Alg != "HS256" {
		return fmt.Errorf("%w: algorithm %q, want HS256", ErrTokenRejected, h.Alg)
	}
	sig, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[2], "="))
	if err != nil {
		return fmt.Errorf("%w: signature: %v", ErrMalformedToken, err)
	}
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(parts[0] + "." + parts[1]))
	if !hmac.Equal(sig, mac.Sum(nil)) {
		return fmt.Errorf("%w: signature does not match", ErrTokenRejected)
	}
	payload, _ := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "=")) // read by ParseToken
	var claims struct {
		Exp *json.Number `json:"exp"`
	}
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.UseNumber()
	if err := dec.Decode(&claims); err != nil {
		return fmt.Errorf("%w: claims: %v", ErrMalformedToken, err)
	}
	if claims.Exp != nil {
		exp, err := claims.Exp.Float64()
		if err != nil {
			return fmt.Errorf("%w: exp %q", ErrMalformedToken, claims.Exp.String())
		}
		if now.After(time.Unix(int64(exp), 0)) {
			return fmt.Errorf("%w: expired at %v", ErrTokenRejected, time.Unix(int64(exp), 0).UTC())
		}
	}
	return nil
}
