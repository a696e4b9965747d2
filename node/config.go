package node

import (
	"bytes"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"os"
	"strconv"
	"time"

	"focal/actors/bridge"
	"focal/actors/bridge/selection"
	"focal/actors/conference"
	"focal/auth"
	"focal/visitors"
)

// Config of a focus node. Field comments name the command-line flag.
type Config struct {
	Domain    string // --domain: the XMPP domain clients log in to, e.g. meet.jitsi
	Host      string // --host: the XMPP server for the component stream
	Port      int    // --port: its component port
	Subdomain string // --subdomain: the component is <subdomain>.<domain>
	Secret    string // --secret: the component secret

	UserDomain   string // --user_domain: the focus logs in as <user_name>@<user_domain>
	UserName     string // --user_name
	UserPassword string // --user_password
	UserHost     string // --user_host: the XMPP server for the client stream (default: Host)
	UserPort     int    // --user_port
	UserResource string // --user_resource: resource of the client stream (in a cluster, suffixed with -<node>: see Resource)
	// UserTLS negotiates STARTTLS on the client stream (--user_tls);
	// UserTLSInsecure skips certificate verification (--user_tls_insecure).
	UserTLS         bool
	UserTLSInsecure bool

	MUC     string // --muc: the conference MUC service (default conference.<domain>)
	Brewery string // --brewery: the bridges' brewery room JID
	HTTP    string // --http: listen address of the HTTP API

	// Cluster. With Gossip empty the node is alone, as before clustering;
	// otherwise it gossips membership on Gossip (IP:PORT), tries to join the
	// peers in Join (their gossip addresses, which need not be up yet), and
	// talks to the other nodes' actors through a protoactor remote listening
	// on Remote (IP:PORT, required with Gossip). Node is its name in the
	// cluster, unique and best kept across restarts (placement hashes it);
	// it defaults to <hostname>-<pid>.
	Node   string   // --node
	Gossip string   // --gossip
	Join   []string // --join, comma-separated
	Remote string   // --remote
	// ClusterSize is how many nodes the cluster has (--cluster_size),
	// the same on every node: quorum is a strict majority of it. Required
	// with Gossip, so that a node started with a short --join cannot think
	// itself a majority.
	ClusterSize int
	// Liveness is where the node's liveness listener listens (--liveness,
	// IP:PORT): a node whose connection to it ends, and which then finds
	// it refusing connections, knows this process is gone and takes its
	// conferences over at once instead of after failure detection
	// (cluster/liveness.go). Empty: the gossip IP, a free port. "off": no
	// listener, and this node does not watch the others' either — for a
	// network where something may refuse connections in a live process's
	// place (a firewall that rejects rather than drops).
	Liveness string

	// Bridges: selection strategy and config, and health checks.
	Selection    selection.Config
	BridgeHealth bridge.HealthConfig

	// StripSimulcast tells participants only the first layer of each
	// other participant's simulcast (--strip_simulcast, Jicofo's
	// conference.strip-simulcast; default on).
	StripSimulcast bool
	// ICERestart answers clients' in-place ICE restart requests with the
	// bridge's new credentials (--ice_restart, Jicofo's
	// conference.enable-ice-restart; default on).
	ICERestart     bool
	InitialTimeout time.Duration // conference.initial_timeout
	// SourceSignalingDelays batches the source changes each participant
	// is told of, by conference size (--source_signaling_delays, Jicofo's
	// conference.source-signaling-delays; see
	// conference.DefaultSourceSignalingDelays for the default and why).
	SourceSignalingDelays conference.SignalingDelays
	// SingleParticipantTimeout ends the media session of a participant
	// left alone (--single_participant_timeout; 0 keeps it).
	SingleParticipantTimeout time.Duration
	JoinTimeout              time.Duration // conference.join_timeout
	RequestTimeout           time.Duration // how long a conference request may take

	// AuthURL turns on the authentication of conference requests
	// (--auth_url, Jicofo's legacy org.jitsi.jicofo.auth.URL): "XMPP:<domain>"
	// authenticates the users logged in on that domain, "EXT_JWT:<domain>"
	// those Prosody admitted there with a token; only they create rooms.
	// AuthLifetime is how long an XMPP-type session lives unused (24 h).
	AuthURL      string
	AuthLifetime time.Duration
	// LoginURL is the login page answered to <login-url/>
	// (--login_url, with {room} and {machine_uid}): an external login.
	LoginURL string
	// AuthTokenSecretFile names a file holding the secret Prosody's token
	// authentication signs with (--auth_token_secret_file, its
	// app_secret): request tokens must then verify. Empty: tokens are read
	// unchecked, as Jicofo reads them.
	AuthTokenSecretFile string

	// Visitors: visitor nodes (the config file's visitors: section; see
	// package visitors for the knobs and their defaults).
	Visitors visitors.Config

	// SMAckRequestDelay and SMAckRequestEvery pace the focus's own
	// stream management ack requests on its client sessions
	// (--sm_ack_request_delay, --sm_ack_request_every; see
	// session.StreamManagement.AckRequestDelay): an <r/> once a stanza has
	// waited 1 s unacknowledged or 100 are, instead of one per write burst,
	// which cost Prosody an <r/> and an <a/> about every second stanza
	// (BENCHMARKS.md, "Prosody's CPU"). 0 s asks after every write.
	SMAckRequestDelay time.Duration
	SMAckRequestEvery int

	// WarmSessions is how many client streams a clustered node keeps
	// logged in ahead of need, for taking a session over
	// (--warm_sessions; session.WarmDials): a takeover then resumes in one
	// round trip to the server instead of seven, each of which waits
	// behind the burst a node's death sets off. 32 covers the sessions a
	// 3-node cluster's survivor takes over from a dead member (64 shards:
	// the dead one held about 21, and one survivor took all 21 in a
	// benchmark run); beyond them a takeover dials as before. 0: none.
	WarmSessions int

	// DebugMemory adds POST /debug/gc and /debug/pprof/ to the HTTP API
	// (--debug_memory; off): the load benchmark's memory readings.
	DebugMemory bool

	// Pprof serves Go's profiles (net/http/pprof) under /debug/pprof/ on
	// the HTTP API (--pprof; default off): how the load benchmark finds
	// where a node spends its CPU.
	Pprof bool

	Version string
	Logger  *slog.Logger
}

// Defaults returns a Config with every default filled in; required settings
// are left empty.
func Defaults() Config {
	return Config{
		Host:                     "localhost",
		Port:                     5347,
		Subdomain:                "focus",
		UserName:                 "focus",
		UserPort:                 5222,
		UserResource:             "focal",
		UserTLS:                  true,
		HTTP:                     "127.0.0.1:8888",
		StripSimulcast:           true,
		ICERestart:               true,
		InitialTimeout:           15 * time.Second,
		SourceSignalingDelays:    maps.Clone(conference.DefaultSourceSignalingDelays),
		SingleParticipantTimeout: 20 * time.Second,
		AuthLifetime:             auth.DefaultLifetime,
		JoinTimeout:              10 * time.Second,
		RequestTimeout:           20 * time.Second,
		Version:                  "dev",
		Selection:                selection.DefaultConfig(),
		BridgeHealth:             bridge.DefaultHealth,
		SMAckRequestDelay:        time.Second,
		SMAckRequestEvery:        100,
		WarmSessions:             32,
	}
}

// MissingFlagError names the flag of a required setting that is not set.
type MissingFlagError struct{ Flag string }

func (e MissingFlagError) Error() string {
	return fmt.Sprintf("missing required setting --%s", e.Flag)
}

// Validate checks the required settings and fills the derived ones.
func (c *Config) Validate() error {
	for _, req := range []struct{ flag, value string }{
		{"domain", c.Domain},
		{"secret", c.Secret},
		{"user_domain", c.UserDomain},
		{"user_password", c.UserPassword},
	} {
		if req.value == "" {
			return MissingFlagError{Flag: req.flag}
		}
	}
	if c.UserHost == "" {
		c.UserHost = c.Host
	}
	if c.MUC == "" {
		c.MUC = "conference." + c.Domain
	}
	if c.Port <= 0 || c.Port > 65535 || c.UserPort <= 0 || c.UserPort > 65535 {
		return errors.New("ports must be in 1..65535")
	}
	if _, _, err := net.SplitHostPort(c.HTTP); err != nil {
		return fmt.Errorf("--http %q: %w", c.HTTP, err)
	}
	if err := c.validateCluster(); err != nil {
		return err
	}
	if c.InitialTimeout <= 0 || c.JoinTimeout <= 0 || c.RequestTimeout <= 0 {
		return errors.New("timeouts must be positive")
	}
	if c.SingleParticipantTimeout < 0 {
		return errors.New("single_participant_timeout must not be negative")
	}
	if c.SMAckRequestDelay < 0 || c.SMAckRequestEvery < 0 {
		return errors.New("sm_ack_request_delay and sm_ack_request_every must not be negative")
	}
	if c.WarmSessions < 0 {
		return errors.New("warm_sessions must not be negative")
	}
	if _, err := c.Auth(); err != nil {
		return err
	}
	if err := c.Visitors.Validate(); err != nil {
		return err
	}
	c.Visitors = c.Visitors.WithDefaults()
	if err := c.Selection.Validate(); err != nil {
		return fmt.Errorf("bridge selection: %w", err)
	}
	if c.BridgeHealth.Enabled && (c.BridgeHealth.Interval <= 0 || c.BridgeHealth.Timeout <= 0) {
		return errors.New("bridge health check interval and timeout must be positive")
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return nil
}

// LivenessOff, as Config.Liveness, turns the liveness listener off.
const LivenessOff = "off"

// livenessAddr is where the liveness listener listens ("": none).
func (c *Config) livenessAddr() string {
	switch c.Liveness {
	case LivenessOff:
		return ""
	case "":
		host, _, _ := net.SplitHostPort(c.Gossip)
		return net.JoinHostPort(host, "0")
	}
	return c.Liveness
}

// Clustered reports whether the node is part of a cluster (--gossip set).
func (c *Config) Clustered() bool { return c.Gossip != "" }

// validateCluster checks the cluster settings and fills the node name.
func (c *Config) validateCluster() error {
	if !c.Clustered() {
		switch {
		case len(c.Join) > 0:
			return errors.New("--join needs --gossip")
		case c.Remote != "":
			return errors.New("--remote needs --gossip")
		}
		return nil
	}
	if c.Remote == "" {
		return MissingFlagError{Flag: "remote"}
	}
	if err := checkIPPort("gossip", c.Gossip); err != nil {
		return err
	}
	if err := checkIPPort("remote", c.Remote); err != nil {
		return err
	}
	if c.Liveness != "" && c.Liveness != LivenessOff {
		if err := checkIPPort("liveness", c.Liveness); err != nil {
			return err
		}
	}
	for _, j := range c.Join {
		if err := checkIPPort("join", j); err != nil {
			return err
		}
	}
	if c.ClusterSize < 1 {
		return MissingFlagError{Flag: "cluster_size"}
	}
	if peers := len(c.peers()); peers > c.ClusterSize-1 {
		return fmt.Errorf("--join lists %d other nodes, but --cluster_size %d leaves room for %d", peers, c.ClusterSize, c.ClusterSize-1)
	}
	if c.Node == "" {
		c.Node = defaultNodeName()
	}
	return nil
}

// checkIPPort accepts IP:PORT where the IP can be reached by other nodes:
// the addresses are advertised to them, so 0.0.0.0 or :: would not do.
func checkIPPort(flag, addr string) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("--%s %q: %w", flag, addr, err)
	}
	ip := net.ParseIP(host)
	if ip == nil {
		return fmt.Errorf("--%s %q: host must be an IP address", flag, addr)
	}
	if ip.IsUnspecified() {
		return fmt.Errorf("--%s %q: the address is advertised to other nodes, so it must be a reachable IP, not %s", flag, addr, ip)
	}
	if p, err := strconv.ParseUint(port, 10, 16); err != nil || (p == 0 && flag == "join") {
		return fmt.Errorf("--%s %q: bad port", flag, addr)
	}
	return nil
}

// defaultNodeName is <hostname>-<pid>: unique among the processes of a
// host, though not kept across restarts.
func defaultNodeName() string {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "focal"
	}
	return host + "-" + strconv.Itoa(os.Getpid())
}

// Resource is the resource the focus's client stream binds: UserResource,
// and in a cluster UserResource-Node, because every node logs in as the same
// user and the server lets one session hold a resource (a second login to
// it replaces the first). It is also the focus's nick in the brewery.
func (c *Config) Resource() string {
	if c.Clustered() {
		return c.UserResource + "-" + c.Node
	}
	return c.UserResource
}

// requestIDPrefix begins the ids of the node's requests: a shard session
// keeps its address when another node resumes it, and a bridge's logs then
// tell the nodes apart by this alone.
func (c *Config) requestIDPrefix() string { return c.Resource() + "-" }

// ComponentJID is the address clients send conference requests to.
func (c *Config) ComponentJID() string { return c.Subdomain + "." + c.Domain }

// clientTLS is the TLS configuration of the focus's client streams (nil
// without TLS).
func (c *Config) clientTLS() *tls.Config {
	if !c.UserTLS {
		return nil
	}
	return &tls.Config{ServerName: c.UserDomain, InsecureSkipVerify: c.UserTLSInsecure, MinVersion: tls.VersionTLS12}
}

// FocusJID is the bare JID of the focus user.
func (c *Config) FocusJID() string { return c.UserName + "@" + c.UserDomain }

func (c *Config) componentAddr() string { return net.JoinHostPort(c.Host, strconv.Itoa(c.Port)) }
func (c *Config) clientAddr() string    { return net.JoinHostPort(c.UserHost, strconv.Itoa(c.UserPort)) }

// peers are the distinct addresses in --join other than this node's own.
func (c Config) peers() map[string]bool {
	out := map[string]bool{}
	for _, j := range c.Join {
		if j != c.Gossip {
			out[j] = true
		}
	}
	return out
}

// Quorum is how many members a node must see to drive conferences: a strict
// majority of --cluster_size, which every node of a cluster is given alike.
// A node cut off in a minority then drives nothing, and the two sides of a
// partition can never both drive a conference.
func (c Config) Quorum() int {
	return c.ClusterSize/2 + 1
}

// Auth is the authentication of conference requests the config asks for.
func (c *Config) Auth() (auth.Config, error) {
	a, err := auth.ParseURL(c.AuthURL)
	if err != nil {
		return a, fmt.Errorf("--auth_url: %w", err)
	}
	if a.Enabled() && !a.External {
		// An external authority's sessions last a minute, as Jicofo's.
		if c.AuthLifetime <= 0 {
			return a, errors.New("auth_lifetime must be positive")
		}
		a.Lifetime = c.AuthLifetime
	}
	a.LoginURL = c.LoginURL
	if c.AuthTokenSecretFile != "" {
		secret, err := os.ReadFile(c.AuthTokenSecretFile)
		if err != nil {
			return a, fmt.Errorf("--auth_token_secret_file: %w", err)
		}
		if a.TokenSecret = bytes.TrimRight(secret, "\r\n"); len(a.TokenSecret) == 0 {
			return a, fmt.Errorf("--auth_token_secret_file %s: empty", c.AuthTokenSecretFile)
		}
	}
	return a, nil
}
