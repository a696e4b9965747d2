package prosodytest

import (
	"crypto/sha1"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// ioTimeout bounds every wait on the server in these tests.
const ioTimeout = 5 * time.Second

const streamNS = "xmlns:stream='http://etherx.jabber.org/streams'"

// xmppConn is a raw XMPP connection for probing the server.
type xmppConn struct {
	t    *testing.T
	conn net.Conn
}

func dial(t *testing.T, addr string) *xmppConn {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, ioTimeout)
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	t.Cleanup(func() { conn.Close() })
	return &xmppConn{t: t, conn: conn}
}

func (c *xmppConn) send(s string) {
	c.t.Helper()
	if err := c.conn.SetWriteDeadline(time.Now().Add(ioTimeout)); err != nil {
		c.t.Fatal(err)
	}
	if _, err := io.WriteString(c.conn, s); err != nil {
		c.t.Fatalf("write %q: %v", s, err)
	}
}

// read reads until the received text contains one of wants, and returns
// the text. It stops early, with an error, on EOF or after ioTimeout.
func (c *xmppConn) read(wants ...string) (string, error) {
	if err := c.conn.SetReadDeadline(time.Now().Add(ioTimeout)); err != nil {
		return "", err
	}
	var got strings.Builder
	buf := make([]byte, 4096)
	for {
		for _, want := range wants {
			if strings.Contains(got.String(), want) {
				return got.String(), nil
			}
		}
		n, err := c.conn.Read(buf)
		got.Write(buf[:n])
		if err != nil && n == 0 {
			return got.String(), fmt.Errorf("waiting for %q: %w", wants, err)
		}
	}
}

// readUntil is read that fails the test on errors and stream errors.
func (c *xmppConn) readUntil(wants ...string) string {
	c.t.Helper()
	got, err := c.read(append(wants, "<stream:error")...)
	if err != nil {
		c.t.Fatalf("%v; received %q", err, got)
	}
	if strings.Contains(got, "<stream:error") {
		c.t.Fatalf("stream error while waiting for %q: %s", wants, got)
	}
	return got
}

// readTag reads until the start tag beginning with prefix is complete, and
// returns everything received.
func (c *xmppConn) readTag(prefix string) string {
	c.t.Helper()
	got := c.readUntil(prefix)
	for !strings.Contains(got[strings.Index(got, prefix):], ">") {
		got += c.readUntil(">")
	}
	return got
}

// openClientStream sends a client stream header to domain and returns the
// stream features.
func (c *xmppConn) openClientStream(domain string) string {
	c.t.Helper()
	c.send(fmt.Sprintf("<stream:stream to='%s' xmlns='jabber:client' %s version='1.0'>", domain, streamNS))
	return c.readUntil("</stream:features>")
}

// authPlain runs SASL PLAIN and returns the server's answer (success or failure).
func (c *xmppConn) authPlain(user, password string) string {
	c.t.Helper()
	creds := base64.StdEncoding.EncodeToString([]byte("\x00" + user + "\x00" + password))
	c.send("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>" + creds + "</auth>")
	return c.readUntil("<success", "</failure>")
}

// waitClosed waits until the server closes the connection.
func (c *xmppConn) waitClosed() {
	c.t.Helper()
	if err := c.conn.SetReadDeadline(time.Now().Add(ioTimeout)); err != nil {
		c.t.Fatal(err)
	}
	buf := make([]byte, 4096)
	for {
		if _, err := c.conn.Read(buf); err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				c.t.Fatalf("connection still open after %v", ioTimeout)
			}
			return
		}
	}
}

// waitRefused polls until nothing accepts connections on addr.
func waitRefused(t *testing.T, addr string) {
	t.Helper()
	deadline := time.Now().Add(ioTimeout)
	for {
		conn, err := net.DialTimeout("tcp", addr, time.Second)
		if err != nil {
			return
		}
		conn.Close()
		if time.Now().After(deadline) {
			t.Fatalf("%s still accepts connections after %v", addr, ioTimeout)
		}
		time.Sleep(20 * time.Millisecond) // poll interval, not a stand-in for an event
	}
}

func assertAnonymousFeatures(t *testing.T, s *Server) {
	t.Helper()
	c := dial(t, s.C2SAddr)
	features := c.openClientStream(s.Domain)
	if !strings.Contains(features, "<mechanism>ANONYMOUS</mechanism>") {
		t.Fatalf("features of %s lack ANONYMOUS: %s", s.Domain, features)
	}
}

func TestAnonymousClientDomainOffersAnonymousLogin(t *testing.T) {
	t.Parallel()
	s := Start(t, Options{})

	for _, tc := range []struct{ name, got, want string }{
		{"Domain", s.Domain, "meet.jitsi"},
		{"AuthDomain", s.AuthDomain(), "auth.meet.jitsi"},
		{"MUCDomain", s.MUCDomain(), "conference.meet.jitsi"},
		{"BreweryDomain", s.BreweryDomain(), "internal.auth.meet.jitsi"},
		{"FocusComponent", s.FocusComponent(), "focus.meet.jitsi"},
	} {
		if tc.got != tc.want {
			t.Errorf("%s = %q, want %q", tc.name, tc.got, tc.want)
		}
	}
	for _, addr := range []string{s.C2SAddr, s.ComponentAddr, s.HTTPAddr} {
		host, _, err := net.SplitHostPort(addr)
		if err != nil || host != "127.0.0.1" {
			t.Errorf("address %q is not on 127.0.0.1", addr)
		}
	}

	c := dial(t, s.C2SAddr)
	c.send("<stream:stream to='meet.jitsi' xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>")
	got := c.readUntil("</stream:features>")
	if !strings.Contains(got, "<stream:stream") || !strings.Contains(got, "from='meet.jitsi'") {
		t.Errorf("no stream header from meet.jitsi in %q", got)
	}
	if !strings.Contains(got, "<stream:features>") || !strings.Contains(got, "<mechanism>ANONYMOUS</mechanism>") {
		t.Errorf("no ANONYMOUS mechanism in %q", got)
	}
}

func TestAuthDomainLogsInFocusAndRegisteredUsers(t *testing.T) {
	t.Parallel()
	s := Start(t, Options{})
	if err := s.Register("alice", "wonderland"); err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		user, password, want string
	}{
		{"focus", s.FocusPassword, "<success"},
		{"jvb", s.JVBPassword, "<success"},
		{"alice", "wonderland", "<success"},
		{"focus", "wrong", "<failure"},
		{"nobody", "x", "<failure"},
	} {
		c := dial(t, s.C2SAddr)
		features := c.openClientStream(s.AuthDomain())
		if !strings.Contains(features, "<mechanism>PLAIN</mechanism>") {
			t.Fatalf("auth domain offers no PLAIN: %s", features)
		}
		if got := c.authPlain(tc.user, tc.password); !strings.Contains(got, tc.want) {
			t.Errorf("PLAIN %s/%s: got %q, want %s", tc.user, tc.password, got, tc.want)
		}
	}
}

func TestFocusComponentHandshakeNeedsFocusSecret(t *testing.T) {
	t.Parallel()
	s := Start(t, Options{})
	idRE := regexp.MustCompile(`id=['"]([^'"]+)['"]`)

	for _, tc := range []struct {
		secret, want string
	}{
		{"not-the-secret", "not-authorized"},
		{s.FocusSecret, "<handshake/>"},
	} {
		c := dial(t, s.ComponentAddr)
		c.send(fmt.Sprintf("<stream:stream xmlns='jabber:component:accept' %s to='%s'>", streamNS, s.FocusComponent()))
		header := c.readTag("<stream:stream")
		m := idRE.FindStringSubmatch(header)
		if m == nil {
			t.Fatalf("no stream id in %q", header)
		}
		digest := sha1.Sum([]byte(m[1] + tc.secret))
		c.send("<handshake>" + hex.EncodeToString(digest[:]) + "</handshake>")
		got, err := c.read(tc.want)
		if err != nil || !strings.Contains(got, tc.want) {
			t.Errorf("handshake with secret %q: got %q, want %s", tc.secret, got, tc.want)
		}
	}
}

func TestOptionsSetDomainAndStreamManagement(t *testing.T) {
	t.Parallel()
	s := Start(t, Options{Domain: "focal.test", HibernationSeconds: 7, SmacksQueue: 123})
	if got := s.MUCDomain(); got != "conference.focal.test" {
		t.Errorf("MUCDomain = %q", got)
	}
	cfg, err := os.ReadFile(filepath.Join(s.Base, "prosody.cfg.lua"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(cfg), "smacks_max_queue_size = 123") {
		t.Errorf("rendered config lacks the smacks queue size")
	}
	if left := regexp.MustCompile(`@[A-Z_0-9]+@`).FindAllString(string(cfg), -1); len(left) > 0 {
		t.Errorf("rendered config still has placeholders: %v", left)
	}

	// Anonymous login, bind, then enable resumable stream management: the
	// server announces the hibernation time as max.
	c := dial(t, s.C2SAddr)
	c.openClientStream(s.Domain)
	c.send("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='ANONYMOUS'/>")
	c.readUntil("<success")
	features := c.openClientStream(s.Domain)
	if !strings.Contains(features, "urn:xmpp:sm:3") {
		t.Fatalf("no stream management offered: %s", features)
	}
	c.send("<iq type='set' id='bind1'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/></iq>")
	bound := c.readUntil("</iq>")
	if !strings.Contains(bound, "@focal.test/") {
		t.Fatalf("bind result has no focal.test JID: %s", bound)
	}
	c.send("<enable xmlns='urn:xmpp:sm:3' resume='true'/>")
	enabled := c.readTag("<enabled")
	if !regexp.MustCompile(`max=['"]7['"]`).MatchString(enabled) {
		t.Errorf("enabled does not announce max=7: %s", enabled)
	}
}

// The log level decides whether prosody.log gets a line per stanza: at
// debug (the default) a client's stream header and SASL exchange are
// there, at info they are not, while the login itself is logged at both.
func TestLogLevelDecidesWhetherStanzasAreLogged(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		level      string
		wantStanza bool
	}{
		{"", true},
		{LogDebug, true},
		{LogInfo, false},
	} {
		t.Run("level="+tc.level, func(t *testing.T) {
			t.Parallel()
			s := Start(t, Options{LogLevel: tc.level})
			c := dial(t, s.C2SAddr)
			c.openClientStream(s.Domain)
			c.send("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='ANONYMOUS'/>")
			c.readUntil("<success")
			// The server logs the login before it answers: it is in the
			// file now, and so is every line logged before it.
			data, err := os.ReadFile(filepath.Join(s.Base, "prosody.log"))
			if err != nil {
				t.Fatal(err)
			}
			log := string(data)
			if !strings.Contains(log, "Authenticated as ") {
				t.Fatalf("prosody.log lacks the login (info level):\n%s", log)
			}
			if got := strings.Contains(log, "Received[c2s_unauthed]: <auth"); got != tc.wantStanza {
				t.Errorf("prosody.log has the <auth/> stanza: %t, want %t", got, tc.wantStanza)
			}
		})
	}
}

func TestRestartBringsPortsBackOnSameAddresses(t *testing.T) {
	t.Parallel()
	s := Start(t, Options{})
	c2s, component, httpAddr := s.C2SAddr, s.ComponentAddr, s.HTTPAddr
	old := dial(t, s.C2SAddr)
	old.openClientStream(s.Domain)

	began := time.Now()
	s.Restart(t)
	t.Logf("restart with one client connected took %v", time.Since(began))

	if s.C2SAddr != c2s || s.ComponentAddr != component || s.HTTPAddr != httpAddr {
		t.Errorf("addresses changed: %s %s %s -> %s %s %s", c2s, component, httpAddr, s.C2SAddr, s.ComponentAddr, s.HTTPAddr)
	}
	old.waitClosed()
	assertAnonymousFeatures(t, s)
	for _, addr := range []string{s.ComponentAddr, s.HTTPAddr} {
		conn, err := net.DialTimeout("tcp", addr, ioTimeout)
		if err != nil {
			t.Errorf("after restart: %v", err)
			continue
		}
		conn.Close()
	}
}

func TestStopFreesPorts(t *testing.T) {
	t.Parallel()
	s := Start(t, Options{})
	assertAnonymousFeatures(t, s)

	began := time.Now()
	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}
	t.Logf("stop took %v", time.Since(began))
	for _, addr := range []string{s.C2SAddr, s.ComponentAddr, s.HTTPAddr} {
		waitRefused(t, addr)
		l, err := net.Listen("tcp", addr)
		if err != nil {
			t.Errorf("port of %s not free after Stop: %v", addr, err)
			continue
		}
		l.Close()
	}
	if err := s.Stop(); err != nil {
		t.Errorf("second Stop: %v", err)
	}
}

func TestKillThenRestart(t *testing.T) {
	t.Parallel()
	s := Start(t, Options{})
	c := dial(t, s.C2SAddr)
	c.openClientStream(s.Domain)

	if err := s.Kill(); err != nil {
		t.Fatal(err)
	}
	c.waitClosed()
	waitRefused(t, s.C2SAddr)
	if err := s.Kill(); err != nil {
		t.Errorf("second Kill: %v", err)
	}

	s.Restart(t)
	assertAnonymousFeatures(t, s)
}

func TestRepoRootHoldsScript(t *testing.T) {
	root, err := RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "scripts", "prosody.sh")); err != nil {
		t.Error(err)
	}
}

// The Jitsi plugins are found where FOCAL_JITSI_PLUGINS says, and a
// directory without them is refused with a message naming the variable.
func TestJitsiPluginsDirFromTheEnvironment(t *testing.T) {
	dir := t.TempDir()
	t.Setenv(JitsiPluginsEnv, dir)
	if _, err := JitsiPluginsDir(); err == nil || !strings.Contains(err.Error(), JitsiPluginsEnv) {
		t.Fatalf("empty directory: got %v, want an error naming %s", err, JitsiPluginsEnv)
	}
	if err := os.WriteFile(filepath.Join(dir, "mod_muc_meeting_id.lua"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := JitsiPluginsDir()
	if err != nil || got != dir {
		t.Fatalf("got %q, %v; want %q", got, err, dir)
	}
}
