// Package node wires one focus node: its XMPP streams, its actors and its
// HTTP API, and runs them until the context ends.
package node

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/remote"

	"focal/actors/bridge"
	"focal/actors/conference"
	"focal/actors/directory"
	"focal/actors/ingress"
	"focal/api"
	"focal/cluster"
	"focal/xmpp"
	"focal/xmpp/session"
)

// Node is a running focus node.
type Node struct {
	cfg       Config
	log       *slog.Logger
	system    *actor.ActorSystem
	component *session.Session
	client    *session.Session
	// warm: streams logged in for taking shard sessions over (clustered,
	// WarmSessions > 0).
	warm *session.WarmDials
	// vnodes: the focus's client connection to each visitor node, by id.
	vnodes    map[string]*session.Session
	directory *actor.PID
	bridges   *actor.PID // nil without a brewery
	ingress   *actor.PID
	listener  net.Listener
	http      *http.Server

	// Cluster, when Config.Clustered: the protoactor remote and the
	// membership, and the subscription that feeds the directory placement;
	// the shard sessions' goroutines.
	shardRuns sync.WaitGroup
	remote    *remote.Remote
	inbound   *inboundCalls // the remote's running handlers
	members   *cluster.Membership
	liveness  *cluster.LivenessListener // nil outside a cluster or with --liveness off
	changes   <-chan struct{}
	// disagreement is why the cluster's configuration disagrees with this
	// node's ("" when it agrees); only followPlacement's goroutine uses it.
	disagreement string
	unsubscribe  func()
	// quorum is whether and since when the node has held a quorum without
	// a break, sampled by followPlacement (see continuity).
	quorum continuity
}

// Start connects nothing yet but binds the HTTP listener, so that a bad
// address fails at once; Run does the rest.
func Start(cfg Config) (*Node, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", cfg.HTTP)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", cfg.HTTP, err)
	}
	n := &Node{cfg: cfg, log: cfg.Logger, listener: ln}
	n.system = actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger {
		// The actor runtime's own chatter is only useful when it goes wrong.
		return slog.New(warnOnly{cfg.Logger.Handler()})
	}))
	if cfg.Clustered() {
		// The remote goes first: it sets the actor system's address, which
		// every PID spawned from now on carries, so that PIDs handed to
		// other nodes point back here.
		if err := n.startRemote(); err != nil {
			ln.Close()
			return nil, err
		}
	}
	if err := n.spawn(); err != nil {
		n.abort()
		return nil, err
	}
	if cfg.Clustered() {
		if err := n.startMembership(); err != nil {
			n.abort()
			return nil, err
		}
	}
	return n, nil
}

// spawn creates the streams, the actors and the HTTP server.
func (n *Node) spawn() error {
	cfg := n.cfg
	root := n.system.Root

	n.client = session.New(session.Config{
		Name:     "client",
		IDPrefix: cfg.requestIDPrefix(),
		Dial: session.ClientDialer(session.ClientOptions{
			Addr:     cfg.clientAddr(),
			JID:      cfg.FocusJID() + "/" + cfg.Resource(),
			Password: cfg.UserPassword,
			TLS:      cfg.clientTLS(),
		}),
		Handler: func(el *xmpp.Element) { root.Send(n.ingress, &ingress.ClientStanza{El: el}) },
		State: func(up bool, addr string) {
			if up {
				root.Send(n.ingress, &ingress.Discover{})
				root.Send(n.directory, &conference.StreamUp{Addr: addr})
				if n.bridges != nil {
					root.Send(n.bridges, &bridge.StreamUp{})
				}
			} else {
				root.Send(n.directory, &conference.StreamDown{})
				if n.bridges != nil {
					root.Send(n.bridges, &bridge.StreamDown{})
				}
			}
		},
		Logger: cfg.Logger,
	})
	componentCfg := session.Config{
		Name:    "component",
		Dial:    session.ComponentDialer(cfg.componentAddr(), cfg.ComponentJID(), cfg.Secret),
		Handler: func(el *xmpp.Element) { root.Send(n.ingress, &ingress.ComponentStanza{El: el}) },
		Logger:  cfg.Logger,
	}
	if cfg.Clustered() {
		// The server takes one connection per component: every node keeps
		// dialling, and whichever gets in first after the holder dies holds
		// it. A short backoff bounds the time without one.
		componentCfg.MaxBackoff = ClusterComponentBackoff
	}
	n.component = session.New(componentCfg)
	vnodeWires := n.spawnVNodeSessions()

	if cfg.Brewery != "" {
		// The brewery tells the directory about bridges going up and down;
		// the directory is spawned next, under its well-known name.
		props, err := bridge.NewBrewery(bridge.Config{
			Room:      cfg.Brewery,
			Nick:      cfg.Resource(),
			Selection: cfg.Selection,
			Health:    cfg.BridgeHealth,
			Events:    actor.NewPID(n.system.Address(), directory.Name),
			Server:    cfg.UserDomain,
			Logger:    cfg.Logger,
		}, n.client)
		if err != nil {
			return fmt.Errorf("brewery: %w", err)
		}
		if n.bridges, err = root.SpawnNamed(props, bridge.BreweryName); err != nil {
			return fmt.Errorf("spawn brewery: %w", err)
		}
	}
	dirCfg := directory.DefaultConfig()
	dirCfg.Conference.FocusJID = cfg.FocusJID()
	dirCfg.Conference.MUCDomain = cfg.MUC
	dirCfg.Conference.Auth, _ = cfg.Auth() // validated with the config
	dirCfg.Conference.InitialTimeout = cfg.InitialTimeout
	dirCfg.Conference.JoinTimeout = cfg.JoinTimeout
	dirCfg.Conference.StripSimulcast = cfg.StripSimulcast
	dirCfg.Conference.SourceSignalingDelays = cfg.SourceSignalingDelays
	dirCfg.Conference.ICERestart = cfg.ICERestart
	dirCfg.Conference.SingleParticipantTimeout = cfg.SingleParticipantTimeout
	dirCfg.Conference.Version = cfg.Version
	dirCfg.Conference.Visitors = cfg.Visitors
	dirCfg.Conference.VNodeWires = vnodeWires
	dirCfg.Conference.Bridges = n.bridges
	dirCfg.Conference.Logger = cfg.Logger
	if cfg.Clustered() {
		dirCfg.Sessions = n.openShardSession
	}
	var err error
	n.directory, err = root.SpawnNamed(directory.Props(dirCfg, n.client), directory.Name)
	if err != nil {
		return fmt.Errorf("spawn conference directory: %w", err)
	}
	n.ingress, err = root.SpawnNamed(ingress.Props(ingress.Config{
		Auth:           dirCfg.Conference.Auth,
		Domain:         cfg.Domain,
		MUCDomain:      cfg.MUC,
		Brewery:        cfg.Brewery,
		Bridges:        n.bridges,
		Component:      n.component,
		Client:         n.client,
		Directory:      n.directory,
		RequestTimeout: cfg.RequestTimeout,
		Visitors:       cfg.Visitors,
		Logger:         cfg.Logger,
	}), "ingress")
	if err != nil {
		return fmt.Errorf("spawn ingress: %w", err)
	}
	apiCfg := api.Config{
		Root:           root,
		Ingress:        n.ingress,
		Directory:      n.directory,
		Bridges:        n.bridges,
		RequestTimeout: cfg.RequestTimeout,
		Version:        cfg.Version,
		Health:         n.Health,
		ComponentHeld:  n.ComponentHeld,
		DebugMemory:    cfg.DebugMemory,
		Pprof:          cfg.Pprof,
		Logger:         cfg.Logger,
	}
	if cfg.Clustered() {
		apiCfg.Cluster = n.clusterMembers
		apiCfg.ClusterTimeout = clusterQueryTimeout
	}
	n.http = &http.Server{Handler: api.Handler(apiCfg), ReadHeaderTimeout: 5 * time.Second}
	return nil
}

// HTTPAddr is the address the API listens on.
func (n *Node) HTTPAddr() string { return n.listener.Addr().String() }

// FocusAddr is the full JID of the focus's client stream ("" while it is
// down).
func (n *Node) FocusAddr() string { return n.client.Addr() }

// Health says whether the node can serve a conference request now. In a
// cluster only one node holds the component stream, so there only the
// client stream counts.
func (n *Node) Health() error {
	if up, _ := n.component.Up(); !up && !n.cfg.Clustered() {
		return errors.New("component stream to " + n.cfg.componentAddr() + " is down")
	}
	if up, _ := n.client.Up(); !up {
		return errors.New("client stream to " + n.cfg.clientAddr() + " is down")
	}
	return nil
}

// ComponentHeld says whether this node's component stream is up. In a
// cluster exactly one node holds it at a time.
func (n *Node) ComponentHeld() bool {
	up, _ := n.component.Up()
	return up
}

// WaitReady blocks until the node is healthy: both streams are up, or in a
// cluster the client stream (another node may hold the component).
func (n *Node) WaitReady(ctx context.Context) error {
	if !n.cfg.Clustered() {
		if err := n.component.WaitUp(ctx); err != nil {
			return fmt.Errorf("component stream: %w", err)
		}
	}
	if err := n.client.WaitUp(ctx); err != nil {
		return fmt.Errorf("client stream: %w", err)
	}
	for id, s := range n.vnodes {
		if err := s.WaitUp(ctx); err != nil {
			return fmt.Errorf("visitor node %s stream: %w", id, err)
		}
	}
	return nil
}

// Run serves until ctx ends, then leaves every room and closes the streams.
func (n *Node) Run(ctx context.Context) error {
	if cfg := n.cfg; cfg.Clustered() && cfg.WarmSessions > 0 {
		// Before the placement is followed: shard sessions are opened
		// only then (openShardSession).
		n.warm = session.NewWarmDials(session.ClientOptions{
			Addr: cfg.clientAddr(), JID: cfg.FocusJID() + "/" + cfg.Resource() + "-warm", Password: cfg.UserPassword, TLS: cfg.clientTLS(),
		}, cfg.WarmSessions, 0, cfg.Logger.With("stream", "warm"))
	}
	streams, stopStreams := context.WithCancel(context.Background())
	defer stopStreams()
	var wg sync.WaitGroup
	for _, s := range append([]*session.Session{n.component, n.client}, n.vnodeSessions()...) {
		wg.Add(1)
		go func() { defer wg.Done(); s.Run(streams) }()
	}
	httpErr := make(chan error, 1)
	go func() { httpErr <- n.http.Serve(n.listener) }()
	placementDone := make(chan struct{})
	if n.members != nil {
		go func() { defer close(placementDone); n.followPlacement() }()
		n.log.Info("focus node started", "http", n.HTTPAddr(), "component", n.cfg.ComponentJID(), "focus", n.cfg.FocusJID(),
			"node", n.cfg.Node, "gossip", n.members.Local().Addr, "remote", n.system.Address())
	} else {
		close(placementDone)
		n.log.Info("focus node started", "http", n.HTTPAddr(), "component", n.cfg.ComponentJID(), "focus", n.cfg.FocusJID())
	}

	var err error
	select {
	case <-ctx.Done():
	case err = <-httpErr:
		err = fmt.Errorf("http server: %w", err)
	}
	n.log.Info("focus node stopping")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = n.http.Shutdown(shutdownCtx)
	// The directory keeps the last placement it had as a member: what it
	// would learn while leaving (a cluster without this node, soon none at
	// all) is no guide to driving conferences until it stops. Leaving then
	// lets the others drop this node at once rather than after failure
	// detection.
	if n.members != nil {
		n.drain(shutdownCtx)
		n.unsubscribe()
	}
	<-placementDone
	n.stopMembership()
	// Stopping the directory stops every conference, and each leaves its
	// room; flushing the client stream gets those presences on the wire
	// before the stream closes.
	_ = n.system.Root.PoisonFuture(n.directory).Wait()
	n.shardRuns.Wait()
	if n.warm != nil {
		n.warm.Close()
	}
	if err := n.client.Flush(shutdownCtx); err != nil && !errors.Is(err, session.ErrNotConnected) {
		n.log.Warn("flush client stream", "err", err)
	}
	stopStreams()
	wg.Wait()
	_ = n.system.Root.PoisonFuture(n.ingress).Wait()
	if n.bridges != nil {
		_ = n.system.Root.PoisonFuture(n.bridges).Wait()
	}
	n.stopRemote()
	n.system.Shutdown()
	n.closeLiveness()
	n.log.Info("focus node stopped")
	return err
}

// warnOnly passes on records of level Warn and above.
type warnOnly struct{ slog.Handler }

func (w warnOnly) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= slog.LevelWarn && w.Handler.Enabled(ctx, l)
}

func (w warnOnly) WithAttrs(attrs []slog.Attr) slog.Handler {
	return warnOnly{w.Handler.WithAttrs(attrs)}
}

func (w warnOnly) WithGroup(name string) slog.Handler {
	return warnOnly{w.Handler.WithGroup(name)}
}
