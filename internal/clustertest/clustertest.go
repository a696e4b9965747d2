// Package clustertest runs a cluster of focus nodes as separate processes on
// loopback, with a private Prosody and simulated bridges, for multi-process
// tests: nodes can be killed, terminated and restarted, and every process's
// output is kept in a log file that is dumped when the test fails.
//
// Processes, not goroutines: a node killed with SIGKILL must vanish the way
// a crashed one does (sockets reset, no deferred cleanup), and protoactor's
// remote cannot start several times in one process without racing.
package clustertest

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"focal/internal/prosodytest"
	"focal/internal/testclient"
)

// LogsEnv names the environment variable that, set to anything, makes
// every test print the processes' logs, not only a failed one.
const LogsEnv = "FOCAL_CLUSTERTEST_LOGS"

// KeepLogsEnv names the environment variable that, set to a directory,
// makes every test copy the processes' whole logs there (a subdirectory
// per test), for reading after the run.
const KeepLogsEnv = "FOCAL_CLUSTERTEST_KEEP"

// LogLevelEnv names the environment variable that sets every process's
// log level where a test does not (Options.LogLevel), e.g. debug, which
// traces each stanza through the directories and conferences.
const LogLevelEnv = "FOCAL_CLUSTERTEST_LOG_LEVEL"

// Defaults of Options.
const (
	DefaultNodes = 3
	// startTimeout bounds how long a node or bridge may take to come up.
	startTimeout = 30 * time.Second
	// maxDump bounds how much of each log a failed test prints.
	maxDump = 256 << 10
)

// Options configures Start.
type Options struct {
	// Nodes is the number of focus nodes (default DefaultNodes).
	Nodes int
	// StartOrder lists the indices of the nodes Start starts, in that order,
	// each once healthy before the next; nil means 0..Nodes-1. Nodes left
	// out stay stopped until their Start.
	StartOrder []int
	// Bridges is the number of simulated bridges, nicks jvb1..jvbK, all in
	// one bridgesim process. With any, every node gets --brewery.
	Bridges int
	// Args are extra focusnode flags for every node.
	Args []string
	// LogLevel is every process's log level (default info).
	LogLevel string
	// Prosody configures the private Prosody.
	Prosody prosodytest.Options
	// Visitors, when set, starts a main Prosody and a visitor node with
	// Jitsi's modules (prosodytest.StartVisitorPair; Prosody.JitsiPlugins
	// must name them) instead of a plain Prosody, and configures the node
	// for every focus node (--config).
	Visitors *VisitorOptions
	// UIDs runs node i as user (and group) UIDs[i] instead of the test's,
	// so that firewall rules can match the node's own packets (nftables
	// `meta skuid`). Needs root and Main (the binaries must be readable).
	UIDs map[int]uint32
}

// Cluster is a running Prosody with focus nodes and bridges. Its methods
// are safe for concurrent use.
type Cluster struct {
	t       testing.TB
	Prosody *prosodytest.Server
	// VNode is the visitor node (with Options.Visitors), VNodeID its id.
	VNode     *prosodytest.Server
	VNodeID   string
	config    string // the nodes' --config file, if any
	nodes     []*Node
	bridges   []*Bridge
	bridgesim *proc // nil without bridges
	logDir    string
}

// Start builds the binaries (once per test binary with Main), starts a
// private Prosody, the bridges, and the nodes in Options.StartOrder, and
// waits until each is healthy. It does not wait for the nodes to find each
// other: see WaitCluster. Everything is stopped at the test's cleanup (nodes
// with SIGTERM, which must make them exit 0); a process that reported a data
// race fails the test, and a failed test (or any, with LogsEnv set) gets
// every process's log.
func Start(t testing.TB, opts Options) *Cluster {
	t.Helper()
	if opts.Nodes == 0 {
		opts.Nodes = DefaultNodes
	}
	if opts.LogLevel == "" {
		opts.LogLevel = cmp.Or(os.Getenv(LogLevelEnv), "info")
	}
	order := opts.StartOrder
	if order == nil {
		for i := range opts.Nodes {
			order = append(order, i)
		}
	}
	for _, i := range order {
		if i < 0 || i >= opts.Nodes {
			t.Fatalf("clustertest: start order names node %d of %d", i, opts.Nodes)
		}
	}
	bins := build(t)
	var c *Cluster
	if opts.Visitors != nil {
		pair := prosodytest.StartVisitorPair(t, opts.Prosody.JitsiPlugins, opts.Visitors.ID)
		c = &Cluster{t: t, Prosody: pair.Main, VNode: pair.VNode, VNodeID: pair.VNodeID}
	} else {
		c = &Cluster{t: t, Prosody: prosodytest.Start(t, opts.Prosody)}
	}
	c.logDir = filepath.Join(t.TempDir(), "logs")
	if err := os.MkdirAll(c.logDir, 0o755); err != nil {
		t.Fatalf("clustertest: %v", err)
	}
	if opts.Visitors != nil {
		if err := c.writeVisitorsConfig(*opts.Visitors); err != nil {
			t.Fatalf("clustertest: %v", err)
		}
	}
	t.Cleanup(c.cleanup)

	const perNode = 4 // HTTP, gossip, remote, liveness
	ports, err := freePorts(perNode*opts.Nodes + 1)
	if err != nil {
		t.Fatalf("clustertest: %v", err)
	}
	if opts.Bridges > 0 {
		c.bridgesim = c.newBridges(bins.bridgesim, opts.Bridges, ports[perNode*opts.Nodes], opts.LogLevel)
	}
	for i := range opts.Nodes {
		n := &Node{
			c:        c,
			index:    i,
			name:     "node" + strconv.Itoa(i+1),
			http:     loopback(ports[perNode*i]),
			gossip:   loopback(ports[perNode*i+1]),
			remote:   loopback(ports[perNode*i+2]),
			liveness: loopback(ports[perNode*i+3]),
		}
		c.nodes = append(c.nodes, n)
	}
	for _, n := range c.nodes {
		n.proc = &proc{name: n.name, bin: bins.focusnode, args: c.nodeArgs(n, opts), logPath: filepath.Join(c.logDir, n.name+".log"), uid: opts.UIDs[n.index]}
	}

	if c.bridgesim != nil {
		ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
		err := c.startBridges(ctx)
		cancel()
		if err != nil {
			t.Fatalf("clustertest: %v", err)
		}
	}
	for _, i := range order {
		if err := c.nodes[i].Start(); err != nil {
			t.Fatalf("clustertest: %v", err)
		}
	}
	return c
}

// nodeArgs are n's focusnode flags: every other node is listed in --join.
func (c *Cluster) nodeArgs(n *Node, opts Options) []string {
	p := c.Prosody
	host, compPort, _ := net.SplitHostPort(p.ComponentAddr)
	_, c2sPort, _ := net.SplitHostPort(p.C2SAddr)
	var join []string
	for _, o := range c.nodes {
		if o != n {
			join = append(join, o.gossip)
		}
	}
	args := []string{
		"--domain", p.Domain, "--host", host, "--port", compPort, "--secret", p.FocusSecret,
		"--user_domain", p.AuthDomain(), "--user_password", p.FocusPassword, "--user_port", c2sPort,
		"--user_tls_insecure",
		"--http", n.http, "--node", n.name, "--gossip", n.gossip, "--remote", n.remote, "--liveness", n.liveness,
		"--cluster_size", strconv.Itoa(len(c.nodes)),
		"--log_level", opts.LogLevel,
	}
	if len(join) > 0 {
		args = append(args, "--join", strings.Join(join, ","))
	}
	if len(c.bridges) > 0 {
		args = append(args, "--brewery", "jvbbrewery@"+p.BreweryDomain())
	}
	if c.config != "" {
		args = append(args, "--config", c.config)
	}
	return append(args, opts.Args...)
}

// Node returns node i (0-based; its name is node<i+1>).
func (c *Cluster) Node(i int) *Node { return c.nodes[i] }

// Nodes returns every node, running or not.
func (c *Cluster) Nodes() []*Node { return append([]*Node(nil), c.nodes...) }

// Running returns the nodes whose process is running and has not been told
// to stop (a node being terminated is no longer counted).
func (c *Cluster) Running() []*Node {
	var out []*Node
	for _, n := range c.nodes {
		if n.Running() {
			out = append(out, n)
		}
	}
	return out
}

// Bridge returns bridge i (0-based; its nick is jvb<i+1>).
func (c *Cluster) Bridge(i int) *Bridge { return c.bridges[i] }

// Room is the JID of a conference room named name.
func (c *Cluster) Room(name string) string { return name + "@" + c.Prosody.MUCDomain() }

// Component is the focus component's JID, where conference requests go.
func (c *Cluster) Component() string { return c.Prosody.FocusComponent() }

// Client logs a participant in (anonymously); it is closed at cleanup.
func (c *Cluster) Client(ctx context.Context) (*testclient.Client, error) {
	cl, err := testclient.Dial(ctx, testclient.Options{Addr: c.Prosody.C2SAddr, Domain: c.Prosody.Domain})
	if err != nil {
		return nil, fmt.Errorf("participant login: %w", err)
	}
	c.t.Cleanup(cl.Close)
	return cl, nil
}

// pollInterval is how often the Wait methods look again.
const pollInterval = 50 * time.Millisecond

// WaitCluster waits until every running node's GET /cluster lists n
// members, the same ones on every node.
func (c *Cluster) WaitCluster(ctx context.Context, n int) error {
	var last string
	for {
		ok, state := c.clusterAgrees(ctx, n)
		if ok {
			return nil
		}
		last = state
		select {
		case <-ctx.Done():
			return fmt.Errorf("cluster of %d not seen by every node: %s: %w", n, last, ctx.Err())
		case <-time.After(pollInterval):
		}
	}
}

// clusterAgrees asks every running node at once; it also returns what they
// said, for the error message.
func (c *Cluster) clusterAgrees(ctx context.Context, n int) (bool, string) {
	nodes := c.Running()
	seen := make([][]string, len(nodes))
	errs := make([]error, len(nodes))
	var wg sync.WaitGroup
	for i, node := range nodes {
		wg.Go(func() {
			v, err := node.Members(ctx)
			seen[i], errs[i] = MemberNames(v), err
		})
	}
	wg.Wait()
	ok := len(nodes) > 0
	said := make([]string, len(nodes))
	for i, node := range nodes {
		if errs[i] != nil {
			said[i] = node.name + ": " + errs[i].Error()
			ok = false
			continue
		}
		said[i] = node.name + " sees [" + strings.Join(seen[i], " ") + "]"
		ok = ok && len(seen[i]) == n && slices.Equal(seen[i], seen[0])
	}
	return ok, strings.Join(said, "; ")
}

// ComponentHolder waits until exactly one running node holds the focus
// component stream, and returns it.
func (c *Cluster) ComponentHolder(ctx context.Context) (*Node, error) {
	var last string
	for {
		var holders []string
		var holder *Node
		var errs []error
		for _, n := range c.Running() {
			v, err := n.Members(ctx)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			if v.Component {
				holders = append(holders, n.name)
				holder = n
			}
		}
		if len(holders) == 1 && len(errs) == 0 {
			return holder, nil
		}
		last = fmt.Sprintf("holders %v, errors %v", holders, errors.Join(errs...))
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("no single component holder: %s: %w", last, ctx.Err())
		case <-time.After(pollInterval):
		}
	}
}

// cleanup stops every process, fails the test on a data race in any of
// them, and dumps the logs of a failed test.
func (c *Cluster) cleanup() {
	var wg sync.WaitGroup
	for _, n := range c.nodes {
		if n.proc != nil {
			wg.Go(func() {
				if err := n.proc.stop(); err != nil {
					c.t.Errorf("clustertest: stopping %s: %v", n.name, err)
				}
			})
		}
	}
	wg.Wait()
	if c.bridgesim != nil {
		if err := c.bridgesim.stop(); err != nil {
			c.t.Errorf("clustertest: stopping bridgesim: %v", err)
		}
	}
	logs, _ := filepath.Glob(filepath.Join(c.logDir, "*.log"))
	for _, path := range logs {
		data, err := os.ReadFile(path)
		if err != nil {
			c.t.Errorf("clustertest: %v", err)
			continue
		}
		if strings.Contains(string(data), "WARNING: DATA RACE") {
			c.t.Errorf("clustertest: data race in %s (log below)", filepath.Base(path))
		}
	}
	if dir := os.Getenv(KeepLogsEnv); dir != "" {
		c.keepLogs(filepath.Join(dir, strings.ReplaceAll(c.t.Name(), "/", "_")), logs)
	}
	if !c.t.Failed() && os.Getenv(LogsEnv) == "" {
		return
	}
	for _, path := range logs {
		data, _ := os.ReadFile(path)
		if len(data) > maxDump {
			data = append([]byte("[...]\n"), data[len(data)-maxDump:]...)
		}
		c.t.Logf("clustertest: log of %s:\n%s", strings.TrimSuffix(filepath.Base(path), ".log"), data)
	}
}

// keepLogs copies the processes' logs and the Prosodys' (the visitor
// node's as prosody-vnode.log) into dir.
func (c *Cluster) keepLogs(dir string, logs []string) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		c.t.Errorf("clustertest: keeping logs: %v", err)
		return
	}
	kept := map[string]string{} // source path → name in dir
	for _, path := range logs {
		kept[path] = filepath.Base(path)
	}
	kept[filepath.Join(c.Prosody.Base, "prosody.log")] = "prosody.log"
	if c.VNode != nil {
		kept[filepath.Join(c.VNode.Base, "prosody.log")] = "prosody-vnode.log"
	}
	for path, name := range kept {
		data, err := os.ReadFile(path)
		if err == nil {
			err = os.WriteFile(filepath.Join(dir, name), data, 0o644)
		}
		if err != nil {
			c.t.Errorf("clustertest: keeping logs: %v", err)
		}
	}
	c.t.Logf("clustertest: logs kept in %s", dir)
}

// freePorts returns n distinct TCP ports free on 127.0.0.1 whose UDP port
// is free too (memberlist binds both). They are released before returning,
// so another process may still grab one; at that rate the test is retried.
func freePorts(n int) ([]int, error) {
	var held []net.Listener
	var heldUDP []net.PacketConn
	defer func() {
		for _, l := range held {
			l.Close()
		}
		for _, u := range heldUDP {
			u.Close()
		}
	}()
	ports := make([]int, 0, n)
	for attempts := 0; len(ports) < n; attempts++ {
		if attempts > 10*n {
			return nil, errors.New("cannot find free loopback ports")
		}
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("find a free port: %w", err)
		}
		held = append(held, ln)
		port := ln.Addr().(*net.TCPAddr).Port
		udp, err := net.ListenPacket("udp", loopback(port))
		if err != nil {
			continue // UDP side taken: try another
		}
		heldUDP = append(heldUDP, udp)
		ports = append(ports, port)
	}
	return ports, nil
}

func loopback(port int) string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(port)) }
