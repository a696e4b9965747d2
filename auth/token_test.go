package auth

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"
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
		verr := VerifyToken(raw, []byte("secret"), time.Unix(0, 0))
		if verr != nil && !errors.Is(verr, ErrMalformedToken) && !errors.Is(verr, ErrTokenRejected) {
			t.Fatalf("verify error %v is neither malformed nor rejected", verr)
		}
		if err != nil && verr == nil {
			t.Fatalf("an unreadable token verified")
		}
	})
}

// signed builds an HS256 token over claims with secret, as Prosody's token
// authentication expects them.
func signed(claims string, secret []byte) string {
	enc := base64.RawURLEncoding.EncodeToString
	unsigned := enc([]byte(`{"alg":"HS256","typ":"JWT"}`)) + "." + enc([]byte(claims))
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(unsigned))
	return unsigned + "." + enc(mac.Sum(nil))
}

func TestVerifyTokenAcceptsOnlyWhatTheSecretSigned(t *testing.T) {
	secret, now := []byte("app-secret"), time.Unix(1_800_000_000, 0)
	good := signed(`{"context":{"user":{"id":"u-1"}},"exp":1800000060}`, secret)
	if err := VerifyToken(good, secret, now); err != nil {
		t.Fatalf("a token the secret signed: %v", err)
	}
	if err := VerifyToken("Bearer "+signed(`{"room":"*"}`, secret), secret, now); err != nil {
		t.Errorf("a token without exp, with the Authorization prefix: %v", err)
	}
	parts := strings.Split(good, ".")
	enc := base64.RawURLEncoding.EncodeToString
	rejected := map[string]string{
		"another secret":      signed(`{"context":{"user":{"id":"u-1"}}}`, []byte("guess")),
		"claims changed":      parts[0] + "." + enc([]byte(`{"context":{"user":{"id":"admin"}},"exp":1800000060}`)) + "." + parts[2],
		"unsigned (alg none)": enc([]byte(`{"alg":"none"}`)) + "." + parts[1] + ".",
		"another algorithm":   enc([]byte(`{"alg":"RS256"}`)) + "." + parts[1] + "." + parts[2],
		"expired":             signed(`{"exp":1799999999}`, secret),
	}
	for name, raw := range rejected {
		if err := VerifyToken(raw, secret, now); !errors.Is(err, ErrTokenRejected) {
			t.Errorf("%s: %v, want ErrTokenRejected", name, err)
		}
	}
	for name, raw := range map[string]string{"truncated": good[:len(good)/2], "signature not base64": parts[0] + "." + parts[1] + ".!!", "exp a string": signed(`{"exp":"soon"}`, secret)} {
		if err := VerifyToken(raw, secret, now); !errors.Is(err, ErrMalformedToken) {
			t.Errorf("%s: %v, want ErrMalformedToken", name, err)
		}
	}
}

func TestCheckTokenWithAndWithoutASecret(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	unchecked := Config{}
	if err := unchecked.CheckToken("", now); err != nil {
		t.Errorf("no token: %v", err)
	}
	if err := unchecked.CheckToken(jwt(`{"context":{"group":"g"}}`), now); err != nil {
		t.Errorf("without a secret a readable token is fine: %v", err)
	}
	if err := unchecked.CheckToken("not.a-jwt", now); !errors.Is(err, ErrMalformedToken) {
		t.Errorf("an unreadable token: %v", err)
	}
	checked := Config{TokenSecret: []byte("s")}
	if err := checked.CheckToken(jwt(`{"context":{"group":"g"}}`), now); !errors.Is(err, ErrTokenRejected) {
		t.Errorf("with a secret an unsigned token: %v", err)
	}
	if err := checked.CheckToken(signed(`{}`, []byte("s")), now); err != nil {
		t.Errorf("with a secret a signed token: %v", err)
	}
}
