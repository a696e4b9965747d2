package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"focal/actors/conference"
	"focal/internal/prosodytest"
	"focal/internal/testclient"
	"focal/xmpp"
)

var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "focusnode-test-")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "focusnode")
	if out, err := exec.Command("go", "build", "-race", "-o", binary, ".").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build focusnode: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func TestMissingRequiredSettingExitsTwoNamingTheFlag(t *testing.T) {
	cases := []struct {
		args []string
		want string
	}{
		{nil, "--domain"},
		{[]string{"--domain", "meet.jitsi"}, "--secret"},
		{[]string{"--domain", "meet.jitsi", "--secret", "s"}, "--user_domain"},
		{[]string{"--domain", "meet.jitsi", "--secret", "s", "--user_domain", "auth.meet.jitsi"}, "--user_password"},
		{[]string{"--domain", "meet.jitsi", "--secret", "s", "--user_domain", "auth.meet.jitsi", "--user_password", "pw",
			"--gossip", "127.0.0.1:7946"}, "--remote"},
		{[]string{"--domain", "meet.jitsi", "--secret", "s", "--user_domain", "auth.meet.jitsi", "--user_password", "pw",
			"--gossip", "127.0.0.1:7946", "--remote", "127.0.0.1:8000", "--join", "127.0.0.2:7946,peer:7946"}, "--join"},
		{[]string{"--domain", "meet.jitsi", "--secret", "s", "--user_domain", "auth.meet.jitsi", "--user_password", "pw",
			"--gossip", "0.0.0.0:7946", "--remote", "127.0.0.1:8000"}, "--gossip"},
	}
	for _, tc := range cases {
		cmd := exec.Command(binary, tc.args...)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		err := cmd.Run()
		var exit *exec.ExitError
		if !errors.As(err, &exit) || exit.ExitCode() != 2 {
			t.Errorf("%v: exit = %v, want 2", tc.args, err)
		}
		lines := strings.Split(strings.TrimSpace(stderr.String()), "\n")
		if len(lines) != 1 || !strings.Contains(lines[0], tc.want) {
			t.Errorf("%v: stderr = %q, want one line naming %s", tc.args, stderr.String(), tc.want)
		}
	}
}

func TestConfigFileSetsKeysAndFlagsWin(t *testing.T) {
	path := filepath.Join(t.TempDir(), "focal.yaml")
	yaml := "domain: meet.jitsi\nsecret: fromfile\nuser_domain: auth.meet.jitsi\nuser_password: pw\nport: 6000\nuser_tls: false\ninitial_timeout: 3s\n"
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := parseConfig([]string{"--config", path, "--secret", "fromflag"}, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if c.Secret != "fromflag" || c.Domain != "meet.jitsi" || c.Port != 6000 || c.UserTLS || c.InitialTimeout != 3*time.Second {
		t.Errorf("config = %+v", c.Config)
	}
	if !c.StripSimulcast || c.SingleParticipantTimeout != 20*time.Second {
		t.Errorf("defaults: strip_simulcast %v, single_participant_timeout %v; Jicofo's are on and 20s", c.StripSimulcast, c.SingleParticipantTimeout)
	}
	if c.SMAckRequestDelay != time.Second || c.SMAckRequestEvery != 100 || c.DebugMemory {
		t.Errorf("defaults: sm_ack_request_delay %v, sm_ack_request_every %d, debug_memory %v; want 1s, 100, false", c.SMAckRequestDelay, c.SMAckRequestEvery, c.DebugMemory)
	}
	unpaced, err := parseConfig([]string{"--config", path, "--sm_ack_request_delay", "0s", "--sm_ack_request_every", "5", "--debug_memory"}, &bytes.Buffer{})
	if err != nil || unpaced.SMAckRequestDelay != 0 || unpaced.SMAckRequestEvery != 5 || !unpaced.DebugMemory {
		t.Errorf("--sm_ack_request_delay 0s --sm_ack_request_every 5 --debug_memory: %v, %v %d %v", err, unpaced.SMAckRequestDelay, unpaced.SMAckRequestEvery, unpaced.DebugMemory)
	}
	if c.WarmSessions != 32 {
		t.Errorf("default warm_sessions %d, want 32", c.WarmSessions)
	}
	if cold, err := parseConfig([]string{"--config", path, "--warm_sessions", "0"}, &bytes.Buffer{}); err != nil || cold.WarmSessions != 0 {
		t.Errorf("--warm_sessions 0: %v, %d", err, cold.WarmSessions)
	}
	off, err := parseConfig([]string{"--config", path, "--strip_simulcast=false"}, &bytes.Buffer{})
	if err != nil || off.StripSimulcast {
		t.Errorf("--strip_simulcast=false: %v, strip %v", err, off.StripSimulcast)
	}
	if err := c.Validate(); err != nil {
		t.Errorf("validate: %v", err)
	}
	if c.MUC != "conference.meet.jitsi" || c.UserHost != "localhost" {
		t.Errorf("derived settings: muc=%q user_host=%q", c.MUC, c.UserHost)
	}
	clustered := filepath.Join(t.TempDir(), "cluster.yaml")
	yaml = "node: n1\ngossip: 127.0.0.1:7946\nremote: 127.0.0.1:8000\ncluster_size: 3\njoin:\n  - 127.0.0.2:7946\n  - 127.0.0.3:7946\n"
	if err := os.WriteFile(clustered, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err = parseConfig([]string{"--config", clustered, "--remote", "127.0.0.1:9000"}, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if c.Node != "n1" || c.Gossip != "127.0.0.1:7946" || c.Remote != "127.0.0.1:9000" || c.ClusterSize != 3 || !slices.Equal(c.Join, []string{"127.0.0.2:7946", "127.0.0.3:7946"}) {
		t.Errorf("cluster settings from file: node=%q gossip=%q remote=%q join=%q", c.Node, c.Gossip, c.Remote, c.Join)
	}
	c, err = parseConfig([]string{"--join", "127.0.0.2:7946, 127.0.0.3:7946"}, &bytes.Buffer{})
	if err != nil || !slices.Equal(c.Join, []string{"127.0.0.2:7946", "127.0.0.3:7946"}) {
		t.Errorf("--join list: %q, %v", c.Join, err)
	}

	bad := filepath.Join(t.TempDir(), "bad.yaml")
	os.WriteFile(bad, []byte("no_such_key: 1\n"), 0o600)
	if _, err := parseConfig([]string{"--config", bad}, &bytes.Buffer{}); err == nil || !strings.Contains(err.Error(), "no_such_key") {
		t.Errorf("unknown key: err = %v", err)
	}
}

func TestSIGTERMLeavesRoomsAndExitsZero(t *testing.T) {
	p := prosodytest.Start(t, prosodytest.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	httpAddr := freeAddr(t)
	host, port, _ := net.SplitHostPort(p.ComponentAddr)
	_, userPort, _ := net.SplitHostPort(p.C2SAddr)
	cmd := exec.Command(binary,
		"--domain", p.Domain, "--host", host, "--port", port, "--secret", p.FocusSecret,
		"--user_domain", p.AuthDomain(), "--user_password", p.FocusPassword, "--user_port", userPort,
		"--user_tls_insecure", "--http", httpAddr)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	defer func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			<-exited
		}
		if t.Failed() {
			t.Logf("focusnode stderr:\n%s", stderr.String())
		}
	}()
	awaitHealthy(ctx, t, httpAddr)

	alice, err := testclient.Dial(ctx, testclient.Options{Addr: p.C2SAddr, Domain: p.Domain})
	if err != nil {
		t.Fatal(err)
	}
	defer alice.Close()
	room := "sigterm@" + p.MUCDomain()
	if res, err := alice.RequestConference(ctx, p.FocusComponent(), xmpp.ConferenceIQ{Room: room}); err != nil || !res.Ready {
		t.Fatalf("request: %+v %v", res, err)
	}
	if _, err := alice.Join(ctx, room, "alice"); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	left, err := alice.AwaitPresence(ctx, room, func(p xmpp.OccupantPresence) bool { return p.Nick == "focus" && p.Unavailable })
	if err != nil {
		t.Fatalf("focus did not leave the room: %v", err)
	}
	if left.HasCode(xmpp.StatusKickedError) {
		t.Errorf("focus was kicked instead of leaving: %v", left.Codes)
	}
	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("exit after SIGTERM: %v", err)
		}
	case <-ctx.Done():
		t.Fatal("focusnode did not exit after SIGTERM")
	}
}

func freeAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func awaitHealthy(ctx context.Context, t *testing.T, addr string) {
	t.Helper()
	for {
		resp, err := http.Get("http://" + addr + "/about/health")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		select {
		case <-ctx.Done():
			t.Fatalf("focusnode never healthy: %v", err)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func TestConfigFileAuthSectionIsJicofosAuthentication(t *testing.T) {
	write := func(yaml string) string {
		path := filepath.Join(t.TempDir(), "auth.yaml")
		if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	const required = "domain: meet.jitsi\nsecret: s\nuser_domain: auth.meet.jitsi\nuser_password: pw\n"
	xmppAuth := write("auth:\n  type: XMPP\n  login-url: auth.meet.jitsi\n  authentication-lifetime: 2h\n")
	c, err := parseConfig([]string{"--config", xmppAuth}, &bytes.Buffer{})
	if err != nil || c.AuthURL != "XMPP:auth.meet.jitsi" || c.AuthLifetime != 2*time.Hour {
		t.Errorf("XMPP section: auth_url %q lifetime %v, %v", c.AuthURL, c.AuthLifetime, err)
	}
	c, err = parseConfig([]string{"--config", xmppAuth, "--auth_url", "EXT_JWT:meet.jitsi"}, &bytes.Buffer{})
	if err != nil || c.AuthURL != "EXT_JWT:meet.jitsi" || c.AuthLifetime != 2*time.Hour {
		t.Errorf("flag over section: auth_url %q lifetime %v, %v", c.AuthURL, c.AuthLifetime, err)
	}
	jwt := write("auth:\n  type: jwt\n  login-url: meet.jitsi\n  login-page: https://login.example/{room}\n")
	c, err = parseConfig([]string{"--config", jwt}, &bytes.Buffer{})
	if err != nil || c.AuthURL != "EXT_JWT:meet.jitsi" || c.LoginURL != "https://login.example/{room}" {
		t.Errorf("JWT section: auth_url %q login page %q, %v", c.AuthURL, c.LoginURL, err)
	}
	for _, off := range []string{"auth:\n  type: NONE\n  login-url: auth.meet.jitsi\n", "auth:\n  enabled: false\n  type: XMPP\n  login-url: auth.meet.jitsi\n"} {
		if c, err := parseConfig([]string{"--config", write(off)}, &bytes.Buffer{}); err != nil || c.AuthURL != "" {
			t.Errorf("%q: auth_url %q, %v; want authentication off", off, c.AuthURL, err)
		}
	}
	for yaml, want := range map[string]string{
		"auth: XMPP\n":          "want a section",
		"auth:\n  type: XMPP\n": "needs login-url",
		"auth:\n  type: SHIBBOLETH\n  login-url: a.b\n":           `type "SHIBBOLETH"`,
		"auth:\n  type: XMPP\n  login_url: a.b\n":                 `unknown key "login_url"`,
		"auth:\n  enabled: maybe\n":                               "not true or false",
		required + "auth:\n  type: XMPP\n  login-url: user@a.b\n": "not a domain",
		"auth:\n  authentication-lifetime: forever\n":             "auth_lifetime",
	} {
		c, err := parseConfig([]string{"--config", write(yaml)}, &bytes.Buffer{})
		if err == nil {
			err = c.Validate()
		}
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: err = %v, want one containing %q", yaml, err, want)
		}
	}
}

// Jicofo's conference.source-signaling-delays, a map of conference size to
// milliseconds, is the config file's source-signaling-delays; the flag
// takes sizes and durations; the default is the conference package's,
// and an empty flag turns batching off.
func TestSourceSignalingDelaysFromFileAndFlag(t *testing.T) {
	base := "domain: meet.jitsi\nsecret: s\nuser_domain: auth.meet.jitsi\nuser_password: pw\n"
	path := filepath.Join(t.TempDir(), "focal.yaml")
	if err := os.WriteFile(path, []byte(base+"source-signaling-delays:\n  50: 500\n  100: 1000\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := parseConfig([]string{"--config", path}, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if want := (conference.SignalingDelays{50: 500 * time.Millisecond, 100: time.Second}); !maps.Equal(c.SourceSignalingDelays, want) {
		t.Errorf("from the file: %v, want %v", c.SourceSignalingDelays, want)
	}
	c, err = parseConfig([]string{"--config", path, "--source_signaling_delays", "10:250ms, 300:2s"}, &bytes.Buffer{})
	if want := (conference.SignalingDelays{10: 250 * time.Millisecond, 300: 2 * time.Second}); err != nil || !maps.Equal(c.SourceSignalingDelays, want) {
		t.Errorf("the flag wins: %v (%v), want %v", c.SourceSignalingDelays, err, want)
	}
	c, err = parseConfig([]string{"--source_signaling_delays", ""}, &bytes.Buffer{})
	if err != nil || len(c.SourceSignalingDelays) != 0 {
		t.Errorf("empty flag: %v (%v), want no delays", c.SourceSignalingDelays, err)
	}
	c, err = parseConfig(nil, &bytes.Buffer{})
	if err != nil || !maps.Equal(c.SourceSignalingDelays, conference.DefaultSourceSignalingDelays) {
		t.Errorf("default: %v (%v), want %v", c.SourceSignalingDelays, err, conference.DefaultSourceSignalingDelays)
	}
	for _, bad := range []string{"50", "x:1s", "50:soon", "-1:1s", "50:-1s"} {
		if _, err := parseConfig([]string{"--source_signaling_delays", bad}, &bytes.Buffer{}); err == nil {
			t.Errorf("--source_signaling_delays %q accepted", bad)
		}
	}
}
