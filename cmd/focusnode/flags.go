package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"focal/actors/conference"
	"focal/node"
)

var errHelp = errors.New("help requested")

type cliConfig struct {
	node.Config
	logLevel slog.Level
}

// parseConfig reads flags and, with --config, a YAML file with the same keys.
// Flags given on the command line win over the file.
func parseConfig(args []string, stderr io.Writer) (cliConfig, error) {
	c := cliConfig{Config: node.Defaults()}
	fs := flag.NewFlagSet("focusnode", flag.ContinueOnError)
	fs.SetOutput(stderr)
	configFile := fs.String("config", "", "YAML file with the same keys as the flags")
	fs.StringVar(&c.Domain, "domain", c.Domain, "XMPP domain of the deployment, e.g. meet.jitsi (required)")
	fs.StringVar(&c.Host, "host", c.Host, "XMPP server host for the component stream")
	fs.IntVar(&c.Port, "port", c.Port, "XMPP server component port")
	fs.StringVar(&c.Subdomain, "subdomain", c.Subdomain, "the focus component is <subdomain>.<domain>")
	fs.StringVar(&c.Secret, "secret", c.Secret, "component secret (required)")
	fs.StringVar(&c.UserDomain, "user_domain", c.UserDomain, "domain the focus user logs in to, e.g. auth.meet.jitsi (required)")
	fs.StringVar(&c.UserName, "user_name", c.UserName, "focus user name")
	fs.StringVar(&c.UserPassword, "user_password", c.UserPassword, "focus user password (required)")
	fs.StringVar(&c.UserHost, "user_host", c.UserHost, "XMPP server host for the client stream (default: --host)")
	fs.IntVar(&c.UserPort, "user_port", c.UserPort, "XMPP server client port")
	fs.StringVar(&c.UserResource, "user_resource", c.UserResource, "resource of the focus client stream; in a cluster <user_resource>-<node>, so that nodes do not replace each other's login")
	fs.BoolVar(&c.UserTLS, "user_tls", c.UserTLS, "negotiate STARTTLS on the client stream")
	fs.BoolVar(&c.UserTLSInsecure, "user_tls_insecure", c.UserTLSInsecure, "skip TLS certificate verification (self-signed test servers)")
	fs.StringVar(&c.MUC, "muc", c.MUC, "conference MUC service (default conference.<domain>)")
	fs.StringVar(&c.Brewery, "brewery", c.Brewery, "brewery room JID where bridges announce themselves")
	fs.StringVar(&c.HTTP, "http", c.HTTP, "listen address of the HTTP API")
	fs.StringVar(&c.Node, "node", c.Node, "this node's unique name in the cluster (default <hostname>-<pid>)")
	fs.StringVar(&c.Gossip, "gossip", c.Gossip, "IP:PORT for cluster membership gossip, UDP and TCP (empty: no cluster, a single node)")
	fs.Var((*addrList)(&c.Join), "join", "IP:PORT[,...]: gossip addresses of peers to join; they need not be up yet")
	fs.StringVar(&c.Remote, "remote", c.Remote, "IP:PORT where other nodes reach this node's actors (required with --gossip)")
	fs.StringVar(&c.Liveness, "liveness", c.Liveness, "IP:PORT of this node's liveness listener, which the others hold a connection to: when it ends and the address refuses, this process is gone and its conferences move at once (empty: the gossip IP, a free port; off: none, and the others' are not watched)")
	fs.IntVar(&c.ClusterSize, "cluster_size", c.ClusterSize, "how many nodes the cluster has, the same on every node (required with --gossip): quorum is a strict majority of it")
	fs.BoolVar(&c.ICERestart, "ice_restart", c.ICERestart, "answer a client's in-place ICE restart request with new ICE credentials from the bridge (transport-info); off: feature-not-implemented")
	fs.BoolVar(&c.StripSimulcast, "strip_simulcast", c.StripSimulcast, "tell participants only the first simulcast layer of the others' video (the bridge gets every layer)")
	fs.Var((*delaysFlag)(&c.SourceSignalingDelays), "source_signaling_delays", "SIZE:DELAY[,...]: in a conference of at least SIZE participants, source changes wait DELAY (a duration, or milliseconds) and go to each participant batched; empty: never wait (Jicofo's default)")
	fs.DurationVar(&c.SingleParticipantTimeout, "single_participant_timeout", c.SingleParticipantTimeout, "end the media session of a participant left alone after this time (0: never)")
	fs.StringVar(&c.AuthURL, "auth_url", c.AuthURL, "XMPP:<domain> or EXT_JWT:<domain> authenticates the users of that domain, who alone create rooms (Jicofo's auth URL); empty: anybody creates rooms")
	fs.StringVar(&c.LoginURL, "login_url", c.LoginURL, "login page answered to login-url requests, with {room} and {machine_uid} (an external, e.g. SAML-protected, login)")
	fs.StringVar(&c.AuthTokenSecretFile, "auth_token_secret_file", c.AuthTokenSecretFile, "file with the secret Prosody's token authentication signs with (app_secret): request tokens must then verify (HS256, exp); empty: read unchecked, as Jicofo")
	fs.DurationVar(&c.AuthLifetime, "auth_lifetime", c.AuthLifetime, "how long an authentication session lives unused")
	fs.DurationVar(&c.InitialTimeout, "initial_timeout", c.InitialTimeout, "end a conference nobody joined within this time")
	fs.StringVar(&c.Selection.SelectionStrategy, "bridge_selection_strategy", c.Selection.SelectionStrategy, "single, region, intra-region or split (Jicofo's class names work too)")
	fs.StringVar(&c.Selection.LocalRegion, "local_region", c.Selection.LocalRegion, "region of this focus, for region-based selection")
	fs.DurationVar(&c.BridgeHealth.Interval, "bridge_health_interval", c.BridgeHealth.Interval, "interval of bridge health checks")
	fs.DurationVar(&c.SMAckRequestDelay, "sm_ack_request_delay", c.SMAckRequestDelay, "ask the XMPP server to acknowledge the focus's stanzas (stream management <r/>) once one has waited this long unacknowledged; 0: after every write")
	fs.IntVar(&c.SMAckRequestEvery, "sm_ack_request_every", c.SMAckRequestEvery, "... or at once when this many await acknowledgement")
	fs.IntVar(&c.WarmSessions, "warm_sessions", c.WarmSessions, "client streams a clustered node keeps logged in for taking sessions over (0: none)")
	fs.BoolVar(&c.DebugMemory, "debug_memory", c.DebugMemory, "serve POST /debug/gc (full collection, memory returned to the system, figures after it) and /debug/pprof/ on the HTTP API")
	fs.BoolVar(&c.Pprof, "pprof", c.Pprof, "serve Go's runtime profiles under /debug/pprof/ on the HTTP API")
	logLevel := fs.String("log_level", "info", "debug, info, warn or error")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return c, errHelp
		}
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if *configFile != "" {
		set := map[string]bool{}
		fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
		if err := applyFile(fs, *configFile, set); err != nil {
			return c, err
		}
		if err := applyVisitors(*configFile, &c.Visitors); err != nil {
			return c, err
		}
	}
	if err := c.logLevel.UnmarshalText([]byte(*logLevel)); err != nil {
		return c, fmt.Errorf("--log_level: %w", err)
	}
	return c, nil
}

// applyFile sets every flag named in the YAML file that was not given on the
// command line, through the flag itself so that parsing rules are the same.
func applyFile(fs *flag.FlagSet, path string, set map[string]bool) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("--config: %w", err)
	}
	var values map[string]any
	if err := yaml.Unmarshal(data, &values); err != nil {
		return fmt.Errorf("--config %s: %w", path, err)
	}
	for key, v := range values {
		if nestedSections[key] {
			continue // a section without flags, read on its own (applyVisitors)
		}
		if section, ok := sections[key]; ok {
			m, ok := v.(map[string]any)
			if !ok {
				return fmt.Errorf("--config %s: key %q: want a section of keys", path, key)
			}
			if err := section(fs, m, set); err != nil {
				return fmt.Errorf("--config %s: section %q: %w", path, key, err)
			}
			continue
		}
		if flagName, ok := jicofoKeys[key]; ok {
			key = flagName
		}
		f := fs.Lookup(key)
		if f == nil || key == "config" {
			return fmt.Errorf("--config %s: unknown key %q", path, key)
		}
		if set[key] {
			continue
		}
		s, err := flagText(v)
		if err != nil {
			return fmt.Errorf("--config %s: key %q: %w", path, key, err)
		}
		if err := f.Value.Set(s); err != nil {
			return fmt.Errorf("--config %s: key %q: %w", path, key, err)
		}
	}
	return nil
}

// flagText is a YAML value as a flag would be written on the command line.
func flagText(v any) (string, error) {
	var s string
	switch t := v.(type) {
	case string:
		s = t
	case int:
		s = strconv.Itoa(t)
	case bool:
		s = strconv.FormatBool(t)
	case float64:
		s = strconv.FormatFloat(t, 'f', -1, 64)
	case time.Duration:
		s = t.String()
	case map[string]any:
		// A map, for keys such as source-signaling-delays: key:value,...
		items := make([]string, 0, len(t))
		for k, item := range t {
			v, err := flagText(item)
			if err != nil {
				return "", fmt.Errorf("%s: %w", k, err)
			}
			items = append(items, k+":"+v)
		}
		sort.Strings(items)
		s = strings.Join(items, ",")
	case map[any]any:
		m := make(map[string]any, len(t))
		for k, item := range t {
			m[fmt.Sprint(k)] = item
		}
		return flagText(m)
	case []any:
		// A list, for keys such as join that take several values.
		items := make([]string, len(t))
		for i, item := range t {
			str, ok := item.(string)
			if !ok {
				return "", fmt.Errorf("list item %v is not a string", item)
			}
			items[i] = str
		}
		s = strings.Join(items, ",")
	default:
		return "", fmt.Errorf("unsupported value %v", v)
	}
	return s, nil
}

// jicofoKeys are the config file's keys that Jicofo's config spells
// differently from the flag they set.
var jicofoKeys = map[string]string{
	"source-signaling-delays": "source_signaling_delays",
}

// delaysFlag is a map of conference size to delay, SIZE:DELAY,... with
// DELAY a duration or a number of milliseconds (Jicofo writes
// milliseconds). Each use of the flag replaces the map; "" empties it.
type delaysFlag conference.SignalingDelays

func (d *delaysFlag) String() string {
	if d == nil {
		return ""
	}
	items := make([]string, 0, len(*d))
	for size, delay := range *d {
		items = append(items, fmt.Sprintf("%d:%v", size, delay))
	}
	sort.Strings(items)
	return strings.Join(items, ",")
}

func (d *delaysFlag) Set(s string) error {
	out := delaysFlag{}
	for _, item := range strings.Split(s, ",") {
		if item = strings.TrimSpace(item); item == "" {
			continue
		}
		size, delay, ok := strings.Cut(item, ":")
		if !ok {
			return fmt.Errorf("%q: want SIZE:DELAY", item)
		}
		n, err := strconv.Atoi(strings.TrimSpace(size))
		if err != nil || n < 0 {
			return fmt.Errorf("%q: the size is not a number of participants", item)
		}
		delay = strings.TrimSpace(delay)
		dur, err := time.ParseDuration(delay)
		if ms, errMs := strconv.Atoi(delay); errMs == nil {
			dur, err = time.Duration(ms)*time.Millisecond, nil
		}
		if err != nil || dur < 0 {
			return fmt.Errorf("%q: the delay is neither a duration nor milliseconds", item)
		}
		out[n] = dur
	}
	*d = out
	return nil
}

// addrList is a comma-separated flag value; each use of the flag replaces
// the list.
type addrList []string

func (l *addrList) String() string {
	if l == nil {
		return ""
	}
	return strings.Join(*l, ",")
}

func (l *addrList) Set(s string) error {
	*l = nil
	for _, item := range strings.Split(s, ",") {
		if item = strings.TrimSpace(item); item != "" {
			*l = append(*l, item)
		}
	}
	return nil
}
