package bridge

import (
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"focal/actors/bridge/selection"
	"focal/xmpp"
	"focal/xmpp/session"
)

// BreweryName is the brewery actor's name on every node.
const BreweryName = "bridges"

// HealthConfig says how bridges are health-checked (Jicofo's
// bridge.health-checks: every 10 s, one retry after 5 s).
type HealthConfig struct {
	Enabled  bool
	Interval time.Duration
	Timeout  time.Duration
}

// Config of the brewery actor.
type Config struct {
	Room      string // brewery room JID; empty disables bridge discovery
	Nick      string // the focus's nick in the brewery
	Selection selection.Config
	Health    HealthConfig
	// Events receives an *Up for every new bridge and a *Down for every
	// bridge that goes away (the node's conference directory, which tells
	// the conferences).
	Events *actor.PID
	// Server is the XMPP domain the wire logs into. When set, a bridge
	// is blamed for a request it did not answer in time only if the server
	// answers a ping in time: sent alongside every health check, and
	// after a conference's Colibri2 request timed out. When the server is
	// slow as well, the delay is the server's (saturated, every stanza
	// queued behind others), and moving every conference off a healthy
	// bridge would only add to its load.
	Server string
	Logger *slog.Logger
	// Now reads the clock; tests may replace it.
	Now func() time.Time
}

// DefaultHealth is Jicofo's health-check default.
var DefaultHealth = HealthConfig{Enabled: true, Interval: 10 * time.Second, Timeout: 5 * time.Second}

// brewery owns the bridge selector (a read model of every bridge's stats,
// fed by the bridge actors) and the bridge actors themselves.
type brewery struct {
	cfg      Config
	wire     session.Wire
	log      *slog.Logger
	selector *selection.Selector
	bridges  map[string]*actor.PID // occupant JID → bridge actor
	// addresses: occupant JID → the bridge's own JID, from its latest
	// presence (a bridge that reconnects may come back as another).
	addresses map[string]string
	joined    bool
	// serverSlowAt is when the server last failed to answer a ping in
	// time (Config.Server).
	serverSlowAt time.Time
}

// serverSlowMemory is how long a slow server explains a request a bridge
// did not answer: a Colibri2 request times out 15 s after it was sent,
// and the server may have recovered by the time it does.
const serverSlowMemory = 20 * time.Second

// NewBrewery returns the brewery actor's props, or an error for an invalid
// selection config.
func NewBrewery(cfg Config, wire session.Wire) (*actor.Props, error) {
	sel, err := selection.New(cfg.Selection)
	if err != nil {
		return nil, fmt.Errorf("brewery: %w", err)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Nick == "" {
		cfg.Nick = "focus"
	}
	return actor.PropsFromProducer(func() actor.Actor {
		return &brewery{
			cfg:      cfg,
			wire:     wire,
			log:      cfg.Logger.With("actor", BreweryName, "brewery", cfg.Room),
			selector: sel,
			bridges:  make(map[string]*actor.PID),

			addresses: make(map[string]string),
		}
	}), nil
}

func (b *brewery) Receive(ctx actor.Context) {
	switch msg := ctx.Message().(type) {
	case *StreamUp:
		b.join()
	case *StreamDown:
		b.joined = false
		for jid := range b.bridges {
			b.remove(ctx, jid, "")
		}
	case *Stanza:
		b.onStanza(ctx, msg.El)
	case *statsUpdate:
		b.onStats(ctx, msg)
	case *healthFailed:
		// The bridge actor pinged the server alongside the check already.
		b.markFailed(ctx, msg.jid, "health check failed: "+msg.reason)
	case *Failed:
		if at := b.serverSlowAt; !at.IsZero() && b.cfg.Now().Sub(at) < serverSlowMemory {
			b.log.Warn("a conference's request timed out while the XMPP server was slow: its delay, not the bridge's; the bridge stays in use",
				"bridge", msg.Bridge, "server_slow_at", at)
			return
		}
		b.blame(ctx, msg.Bridge, "")
	case serverSlow:
		b.serverSlowAt = b.cfg.Now()
	case *serverChecked:
		b.onServerChecked(ctx, msg)
	case *Select:
		res := b.selectBridge(msg)
		res.ID = msg.ID
		ctx.Respond(res)
	case *ListBridges:
		ctx.Respond(b.snapshot())
	}
}

// blame marks bridge jid failed once the server has shown it answers in
// time (Config.Server); downReason, for a failed health check, also tells
// the conferences the bridge is down.
func (b *brewery) blame(ctx actor.Context, jid, downReason string) {
	if b.cfg.Server == "" {
		b.markFailed(ctx, jid, downReason)
		return
	}
	timeout := b.cfg.Health.Timeout
	if timeout <= 0 {
		timeout = DefaultHealth.Timeout
	}
	self, root := ctx.Self(), ctx.ActorSystem().Root
	iq := xmpp.NewIQ(xmpp.IQGet, "", b.cfg.Server, "", xmpp.NewElement("urn:xmpp:ping", "ping"))
	b.wire.Request(iq, timeout, func(_ *xmpp.Element, err error) {
		root.Send(self, &serverChecked{jid: jid, downReason: downReason, err: err})
	})
}

func (b *brewery) onServerChecked(ctx actor.Context, msg *serverChecked) {
	switch {
	case errors.Is(msg.err, session.ErrTimeout):
		b.serverSlowAt = b.cfg.Now()
		b.log.Warn("the XMPP server did not answer a ping in time either: its delay, not the bridge's; the bridge stays in use",
			"bridge", msg.jid, "server", b.cfg.Server, "err", msg.err)
		return
	case errors.Is(msg.err, session.ErrNotConnected) || errors.Is(msg.err, session.ErrDisconnected) || errors.Is(msg.err, session.ErrClosed):
		// Our stream: the brewery re-learns its bridges after the re-join.
		return
	}
	// Answered in time (even with an error): the server is responsive,
	// so the bridge is the one that did not answer.
	b.markFailed(ctx, msg.jid, msg.downReason)
}

func (b *brewery) markFailed(ctx actor.Context, jid, downReason string) {
	marked := b.selector.MarkFailed(jid, b.cfg.Now())
	if downReason != "" {
		b.publishDown(ctx, jid, downReason)
		return
	}
	if marked {
		b.log.Warn("bridge failed a conference", "bridge", jid)
	}
}

func (b *brewery) join() {
	if b.cfg.Room == "" {
		return
	}
	if err := b.wire.Send(xmpp.JoinPresence(b.cfg.Room, b.cfg.Nick)); err != nil {
		b.log.Warn("join brewery", "err", err)
		return
	}
	b.joined = true
}

func (b *brewery) onStanza(ctx actor.Context, el *xmpp.Element) {
	p, ok := xmpp.ParseOccupantPresence(el)
	if !ok || p.Nick == b.cfg.Nick {
		if ok && p.Error != nil {
			b.log.Error("brewery refused the focus", "err", p.Error)
		}
		return
	}
	jid := p.Room + "/" + p.Nick
	if p.Unavailable {
		b.remove(ctx, jid, "left the brewery")
		return
	}
	if _, isBridge := xmpp.ParseStats(el); !isBridge {
		return // Jibri, Jigasi or someone else
	}
	if p.RealJID != "" {
		b.addresses[jid] = p.RealJID
	} else {
		delete(b.addresses, jid)
	}
	pid := b.bridges[jid]
	if pid == nil {
		health := b.cfg.Health
		server := b.cfg.Server
		pid = ctx.Spawn(actor.PropsFromProducer(func() actor.Actor { return newBridgeActor(jid, b.wire, health, server, b.log) }))
		b.bridges[jid] = pid
	}
	ctx.Send(pid, el)
}

func (b *brewery) onStats(ctx actor.Context, msg *statsUpdate) {
	if b.bridges[msg.jid] == nil {
		return // left meanwhile
	}
	names := make([]string, 0, len(msg.stats))
	for n := range msg.stats {
		names = append(names, n)
	}
	sort.Strings(names)
	stats := make([]selection.Stat, 0, len(names))
	for _, n := range names {
		stats = append(stats, selection.Stat{Name: n, Value: msg.stats[n]})
	}
	br, ev := b.selector.Update(msg.jid, b.cfg.Now(), stats...)
	switch ev {
	case selection.Added:
		b.log.Info("bridge available", "bridge", br)
		if b.cfg.Events != nil {
			ctx.Send(b.cfg.Events, &Up{Bridge: msg.jid})
		}
	case selection.EnteredShuttingDown:
		b.publishDown(ctx, msg.jid, "shutting down")
	}
}

// remove forgets a bridge; with a reason, its conferences are told to move.
func (b *brewery) remove(ctx actor.Context, jid, reason string) {
	delete(b.addresses, jid)
	pid := b.bridges[jid]
	if pid == nil {
		return
	}
	delete(b.bridges, jid)
	b.selector.Remove(jid)
	ctx.Stop(pid)
	if reason != "" {
		b.publishDown(ctx, jid, reason)
	}
}

func (b *brewery) publishDown(ctx actor.Context, jid, reason string) {
	b.log.Warn("bridge down", "bridge", jid, "reason", reason)
	if b.cfg.Events != nil {
		ctx.Send(b.cfg.Events, &Down{Bridge: jid, Reason: reason})
	}
}

func (b *brewery) selectBridge(msg *Select) *Selected {
	now := b.cfg.Now()
	conf := make(selection.ConferenceBridges, 0, len(msg.Bridges))
	for _, cb := range msg.Bridges {
		br := b.selector.Get(cb.JID)
		if br == nil {
			// Gone from the brewery: it still tells the strategy which
			// bridge the conference was on.
			br = selection.NewBridge(cb.JID, nil)
		}
		entry := selection.ConferenceBridge{Bridge: br, Participants: cb.Participants}
		for _, t := range cb.Added {
			entry.Added.Add(t, b.cfg.Selection.MaxBridgeParticipantsInterval)
		}
		conf = append(conf, entry)
	}
	br, err := b.selector.Select(conf, msg.Region, "", now)
	if err != nil {
		return &Selected{Err: fmt.Errorf("select a bridge for %s: %w", msg.Room, err)}
	}
	// The participant is about to be added: count it now, so that a burst
	// of joins spreads by corrected stress (Jicofo's ramp-up).
	br.EndpointAdded(now)
	return &Selected{Bridge: br.JID(), Address: b.addresses[br.JID()], Region: br.Region()}
}

func (b *brewery) snapshot() []Snapshot {
	now := b.cfg.Now()
	out := []Snapshot{}
	for _, br := range b.selector.Bridges() {
		st := br.Stats()
		out = append(out, Snapshot{
			JID:             br.JID(),
			Region:          br.Region(),
			Version:         br.FullVersion(),
			Stress:          st.StressLevel,
			CorrectedStress: br.CorrectedStress(now),
			Operational:     br.Operational(now),
			Draining:        br.Draining(),
			Graceful:        br.GracefulShutdown(),
			ShuttingDown:    br.ShuttingDown(),
		})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].JID < out[j].JID })
	return out
}
