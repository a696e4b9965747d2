// Package prosodytest runs a private loopback Prosody, through scripts/prosody.sh, for integration tests.
package prosodytest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Defaults applied to zero-valued Options fields.
const (
	DefaultDomain             = "meet.jitsi"
	DefaultHibernationSeconds = 60
	DefaultSmacksQueue        = 2000
	// DefaultLogLevel keeps every stanza's top tag in prosody.log, for
	// post-mortems of failed tests; LogInfo drops those lines, as a
	// deployment runs.
	DefaultLogLevel = LogDebug
)

// Levels of Options.LogLevel: the lowest level Prosody writes to prosody.log.
const (
	LogDebug = "debug"
	LogInfo  = "info"
)

// Passwords and secret given to every server; tests read them from Server.
const (
	focusSecret   = "focussecret"
	focusPassword = "focuspass"
	jvbPassword   = "jvbpass"
)

// scriptTimeout bounds one call of scripts/prosody.sh. A start normally takes
// about 0.3 s (first start: about 0.5 s, it also makes two RSA keys), a stop
// well under 2 s; the script has its own 10 s limits inside.
const scriptTimeout = 60 * time.Second

// exitPortBusy is the script's exit code when a listener port is taken.
const exitPortBusy = 3

// startAttempts is how often Start picks fresh ports when the ones it picked
// were grabbed by someone else between choosing and binding them.
const startAttempts = 3

// Options configures Start. Zero values select the defaults above.
type Options struct {
	Domain             string // client domain; auth, MUC and component domains derive from it
	HibernationSeconds int    // smacks_hibernation_time
	SmacksQueue        int    // smacks_max_queue_size
	LogLevel           string // LogDebug or LogInfo: what prosody.log keeps
	// JitsiPlugins, if set, is the directory of Jitsi Meet's own Prosody
	// modules (see JitsiPluginsDir): the server then loads them as a
	// default Jitsi Meet install does (main domain, conference MUC, lobby
	// and breakout MUCs, components). They need lua-cjson.
	JitsiPlugins string

	// Set by StartVisitorPair, not by callers of Start.
	visitors string         // "main" or "vnode"
	mainAddr string         // of a vnode: the main Prosody's client domain
	s2sPort  int            // this server's s2s listener
	s2sPeers map[string]int // host → s2s port of the other server
}

// Server is a running private Prosody. Its fields are read-only.
type Server struct {
	Base          string // private directory: config, data, certs, pid file, logs
	Domain        string // client domain, e.g. meet.jitsi
	C2SAddr       string // 127.0.0.1:port of client-to-server XMPP
	ComponentAddr string // 127.0.0.1:port of XEP-0114 components
	HTTPAddr      string // 127.0.0.1:port of BOSH (/http-bind) and websocket (/xmpp-websocket)
	FocusSecret   string // component secret of FocusComponent()
	FocusPassword string // password of focus@AuthDomain()
	JVBPassword   string // password of jvb@AuthDomain()

	script      string
	hibernation int
	smacksQueue int
	logLevel    string
	jitsi       string
	visitors    string
	mainDomain  string
	s2sPeers    string

	// S2SAddr is the 127.0.0.1:port of the server-to-server listener of a
	// Prosody of a visitor pair (empty otherwise).
	S2SAddr string

	mu sync.Mutex // serialises script calls
}

// AuthDomain is the domain of the focus and jvb accounts.
func (s *Server) AuthDomain() string { return "auth." + s.Domain }

// MUCDomain is the conference MUC service.
func (s *Server) MUCDomain() string { return "conference." + s.Domain }

// BreweryDomain is the MUC service of the bridge brewery rooms.
func (s *Server) BreweryDomain() string { return "internal.auth." + s.Domain }

// FocusComponent is the JID of the focus external component.
func (s *Server) FocusComponent() string { return "focus." + s.Domain }

// Start launches a private Prosody on free loopback ports and registers
// Stop with tb.Cleanup. It fails tb if Prosody is not installed or does not
// come up. The private directory is removed at cleanup unless the test
// failed, in which case its path and the end of the console log are logged.
func Start(tb testing.TB, opts Options) *Server {
	tb.Helper()
	if err := checkInstalled(); err != nil {
		tb.Fatalf("prosodytest: %v", err)
	}
	root, err := RepoRoot()
	if err != nil {
		tb.Fatalf("prosodytest: %v", err)
	}
	script := filepath.Join(root, "scripts", "prosody.sh")
	if _, err := os.Stat(script); err != nil {
		tb.Fatalf("prosodytest: %v", err)
	}
	// A short path under the system temp dir rather than tb.TempDir(): Prosody
	// puts a unix socket in data/, and socket paths are limited to 107 bytes.
	base, err := os.MkdirTemp("", "focal-prosody-")
	if err != nil {
		tb.Fatalf("prosodytest: %v", err)
	}

	s := &Server{
		Base:          base,
		Domain:        opts.Domain,
		FocusSecret:   focusSecret,
		FocusPassword: focusPassword,
		JVBPassword:   jvbPassword,
		script:        script,
		hibernation:   opts.HibernationSeconds,
		smacksQueue:   opts.SmacksQueue,
		logLevel:      opts.LogLevel,
		jitsi:         opts.JitsiPlugins,
		visitors:      opts.visitors,
		mainDomain:    opts.mainAddr,
		s2sPeers:      peerList(opts.s2sPeers),
	}
	if opts.s2sPort != 0 {
		s.S2SAddr = loopback(opts.s2sPort)
	}
	if s.Domain == "" {
		s.Domain = DefaultDomain
	}
	if s.hibernation == 0 {
		s.hibernation = DefaultHibernationSeconds
	}
	if s.smacksQueue == 0 {
		s.smacksQueue = DefaultSmacksQueue
	}
	if s.logLevel == "" {
		s.logLevel = DefaultLogLevel
	}
	tb.Cleanup(func() { s.cleanup(tb) })

	for attempt := 1; ; attempt++ {
		ports, err := freePorts(3)
		if err != nil {
			tb.Fatalf("prosodytest: %v", err)
		}
		s.C2SAddr = loopback(ports[0])
		s.ComponentAddr = loopback(ports[1])
		s.HTTPAddr = loopback(ports[2])
		err = s.start()
		if err == nil {
			return s
		}
		if attempt < startAttempts {
			// A busy port is a race with another test; a start that hung
			// (seen about once in a few dozen starts on a loaded machine,
			// cause unknown) gets another chance too, after the leftovers
			// of the failed attempt are killed.
			tb.Logf("prosodytest: attempt %d: %v; retrying with other ports", attempt, err)
			if _, kerr := s.run("kill", s.Base); kerr != nil {
				tb.Logf("prosodytest: clean up after the failed start: %v", kerr)
			}
			continue
		}
		tb.Fatalf("prosodytest: start prosody in %s: %v", base, err)
	}
}

// Stop shuts Prosody down (SIGTERM, SIGKILL after 5 s) and waits until it
// has exited, so its ports are free when Stop returns. Stopping a server
// that is not running is not an error.
func (s *Server) Stop() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, err := s.run("stop", s.Base)
	return err
}

// Kill ends Prosody with SIGKILL, as a crash would, and waits until it is gone.
// Killing a server that is not running is not an error.
func (s *Server) Kill() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, err := s.run("kill", s.Base)
	return err
}

// Restart stops Prosody (if running) and starts it again with the same
// directory, ports, domain, users and secrets; it fails tb on error. All
// client and component connections are cut; rooms and sessions are lost.
func (s *Server) Restart(tb testing.TB) {
	tb.Helper()
	if err := s.Stop(); err != nil {
		tb.Fatalf("prosodytest: restart: %v", err)
	}
	if err := s.start(); err != nil {
		tb.Fatalf("prosodytest: restart prosody in %s: %v", s.Base, err)
	}
}

// Register creates user@AuthDomain() with password, or resets the password
// of an existing user. It works while the server runs: logins read the
// account files written here.
func (s *Server) Register(user, password string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, err := s.run("register", s.Base, user, password)
	return err
}

// RepoRoot returns the nearest directory at or above the working directory
// that contains go.mod.
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("find repository root: %w", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("find repository root: no go.mod above the working directory")
		}
		dir = parent
	}
}

// JitsiPluginsEnv names the environment variable that points at Jitsi
// Meet's Prosody modules (jitsi-meet's resources/prosody-plugins).
const JitsiPluginsEnv = "FOCAL_JITSI_PLUGINS"

// JitsiPluginsDir finds Jitsi Meet's Prosody modules, which are not part of
// Focal: $FOCAL_JITSI_PLUGINS, else ../shared/vendor/jitsi-prosody-plugins
// next to the repository, else /work/shared/vendor/jitsi-prosody-plugins.
// The error says where it looked.
func JitsiPluginsDir() (string, error) {
	var candidates []string
	if dir := os.Getenv(JitsiPluginsEnv); dir != "" {
		candidates = append(candidates, dir)
	} else {
		if root, err := RepoRoot(); err == nil {
			candidates = append(candidates, filepath.Join(root, "..", "shared", "vendor", "jitsi-prosody-plugins"))
		}
		candidates = append(candidates, "/work/shared/vendor/jitsi-prosody-plugins")
	}
	for _, dir := range candidates {
		if _, err := os.Stat(filepath.Join(dir, "mod_muc_meeting_id.lua")); err == nil {
			abs, err := filepath.Abs(dir)
			if err != nil {
				return "", fmt.Errorf("jitsi prosody plugins: %w", err)
			}
			return abs, nil
		}
	}
	return "", fmt.Errorf("jitsi prosody plugins (mod_muc_meeting_id.lua and the rest) not found in %v; set %s to jitsi-meet's resources/prosody-plugins", candidates, JitsiPluginsEnv)
}

var errPortBusy = errors.New("a listener port is already in use")

func (s *Server) start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, err := s.run("start", s.Base)
	return err
}

// run calls the script and returns its stdout. The error carries the
// script's stderr, which on a failed start includes the console log tail.
func (s *Server) run(args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), scriptTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", append([]string{s.script}, args...)...)
	cmd.Env = append(os.Environ(),
		"PROSODY_DOMAIN="+s.Domain,
		"PROSODY_C2S_PORT="+portOf(s.C2SAddr),
		"PROSODY_COMPONENT_PORT="+portOf(s.ComponentAddr),
		"PROSODY_HTTP_PORT="+portOf(s.HTTPAddr),
		"FOCUS_SECRET="+s.FocusSecret,
		"FOCUS_PASSWORD="+s.FocusPassword,
		"JVB_PASSWORD="+s.JVBPassword,
		"PROSODY_HIBERNATION="+strconv.Itoa(s.hibernation),
		"PROSODY_SMACKS_QUEUE="+strconv.Itoa(s.smacksQueue),
		"PROSODY_LOG_LEVEL="+s.logLevel,
		"PROSODY_JITSI_PLUGINS="+s.jitsi,
		"PROSODY_VISITORS="+s.visitors,
		"PROSODY_S2S_PORT="+portOf(s.S2SAddr),
		"PROSODY_S2S_PEERS="+s.s2sPeers,
		"PROSODY_MAIN_DOMAIN="+s.mainDomain,
		// A loaded 2-core CI machine can take longer than the script default.
		"PROSODY_START_TIMEOUT=30",
	)
	var stdout, stderr bytes.Buffer
	cmd.Stdout = &stdout
	cmd.Stderr = &stderr
	cmd.WaitDelay = 5 * time.Second
	err := cmd.Run()
	if err != nil {
		msg := strings.TrimSpace(stderr.String())
		var exitErr *exec.ExitError
		if errors.As(err, &exitErr) && exitErr.ExitCode() == exitPortBusy {
			return "", fmt.Errorf("prosody.sh %s: %w: %s", args[0], errPortBusy, msg)
		}
		return "", fmt.Errorf("prosody.sh %s: %w\n%s", args[0], err, msg)
	}
	return stdout.String(), nil
}

func (s *Server) cleanup(tb testing.TB) {
	if err := s.Stop(); err != nil {
		tb.Errorf("prosodytest: %v", err)
	}
	if tb.Failed() {
		tb.Logf("prosodytest: test failed; keeping %s. End of console.log:\n%s",
			s.Base, tail(filepath.Join(s.Base, "console.log"), 30))
		return
	}
	if err := os.RemoveAll(s.Base); err != nil {
		tb.Errorf("prosodytest: %v", err)
	}
}

func checkInstalled() error {
	for _, tool := range []string{"prosody", "prosodyctl", "openssl", "bash"} {
		if _, err := exec.LookPath(tool); err != nil {
			return fmt.Errorf("%s is not installed; run `scripts/prosody.sh install` (as root) first", tool)
		}
	}
	return nil
}

// freePorts returns n distinct loopback ports that were free a moment ago.
// All listeners are held open together so that the kernel hands out n
// different ports.
func freePorts(n int) ([]int, error) {
	ports := make([]int, 0, n)
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("pick a free port: %w", err)
		}
		defer l.Close()
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

func loopback(port int) string {
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
}

func portOf(addr string) string {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return ""
	}
	return port
}

// tail returns the last n lines of a file, or a note saying why it cannot.
func tail(path string, n int) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// PID is the running server's process id, from its pid file (0 if it
// cannot be read).
func (s *Server) PID() int {
	b, err := os.ReadFile(filepath.Join(s.Base, "prosody.pid"))
	if err != nil {
		return 0
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	return pid
}
