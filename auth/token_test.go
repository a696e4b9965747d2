package auth

import (
	"encoding/base64"
	"errors"
	"strings"
	"testing"
)

// jwt builds a token with the given claims and a signature nobody checks.
func jwt(claims string) string {
	enc := base64.RawURLEncoding.EncodeToString
	return enc([]byte(`{"alg":"HS256","typ":"JWT"}`)) + "." + enc([]byte(claims)) + ".c2lnbmF0dXJl"
}

func TestParseTokenReadsUserAndGroup(t *testing.T) {
	cases := []struct {
		name, raw string
		want      Token
	}{
		{"user and group", jwt(`{"context":{"user":{"id":"u-1","name":"Alice"},"group":"staff"},"room":"*"}`), Token{UserID: "u-1", Group: "staff"}},
		{"bearer prefix", "Bearer " + jwt(`{"context":{"user":{"id":"u-2"}}}`), Token{UserID: "u-2"}},
		{"numeric id keeps its digits", jwt(`{"context":{"user":{"id":12345678901}}}`), Token{UserID: "12345678901"}},
		{"no context", jwt(`{"sub":"meet.jitsi"}`), Token{}},
		{"padded claims", strings.Replace(jwt(`{"context":{"group":"g"}}`), ".c2ln", "==.c2ln", 1), Token{Group: "g"}},
	}
	for _, c := range cases {
		got, err := ParseToken(c.raw)
		if err != nil || got != c.want {
			t.Errorf("%s: ParseToken = %+v, %v; want %+v", c.name, got, err, c.want)
		}
	}
}

func TestParseTokenRefusesMalformedTokens(t *testing.T) {
	cases := map[string]string{
		"empty":             "",
		"two parts":         "a.b",
		"truncated":         jwt(`{"context":{"user":{"id":"u"}}}`)[:30],
		"claims not base64": "eyJhbGciOiJIUzI1NiJ9.!!!.sig",
		"claims not JSON":   jwt(`not json`),
		"claims an array":   jwt(`[1,2]`),
		"id an object":      jwt(`{"context":{"user":{"id":{"x":1}}}}`),
		"group a list":      jwt(`{"context":{"group":["a"]}}`),
		"too long":          jwt(`{"context":{"group":"` + strings.Repeat("g", MaxTokenLen) + `"}}`),
	}
	for name, raw := range cases {
		if got, err := ParseToken(raw); !errors.Is(err, ErrMalformedToken) {
			t.Errorf("%s: ParseToken = %+v, %v; want ErrMalformedToken", name, got, err)
		}
	}
}

func TestTokenAllowed(t *testing.T) {
	tok := Token{UserID: "u-1", Group: "staff"}
	if !tok.Allowed(nil) {
		t.Error("no list must allow everybody")
	}
	if tok.Allowed([]string{}) || tok.Allowed([]string{"u-2", ""}) {
		t.Error("a list without the user or group must refuse")
	}
	if !tok.Allowed([]string{"u-2", "u-1"}) || !tok.Allowed([]string{"staff"}) {
		t.Error("the user's id or group on the list must allow")
	}
	if (Token{}).Allowed([]string{""}) {
		t.Error("an anonymous user must not match an empty id")
	}
}

func FuzzParseToken(f *testing.F) {
	f.Add(jwt(`{"context":{"user":{"id":"u-1"},"group":"staff"}}`))
	f.Add("Bearer a.b.c")
	f.Add("...")
	f.Fuzz(func(t *testing.T, raw string) {
		tok, err := ParseToken(raw)
		if err != nil && !errors.Is(err, ErrMalformedToken) {
			t.Fatalf("error %v is not ErrMalformedToken", err)
		}
		if err != nil && tok != (Token{}) {
			t.Fatalf("a refused token gave claims %+v", tok)
		}
	})
}
