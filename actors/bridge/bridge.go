package bridge

import (
	"errors"
	"log/slog"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"focal/xmpp"
	"focal/xmpp/session"
)

// bridgeActor is one bridge. It owns what the bridge last said about itself
// and checks its health: a healthcheck IQ every interval, one retry after
// half an interval, and a report to the brewery when both fail.
type bridgeActor struct {
	jid    string
	wire   session.Wire
	health HealthConfig
	log    *slog.Logger
	// server, when set, is pinged alongside every health check, through
	// the same stream at the same moment: a check the bridge did not
	// answer in time while the server did not either says the server is
	// slow (saturated), not the bridge, which then is not reported.
	server string
	seq    int           // of the current check
	answer *healthResult // the current check's answer, while the server's is awaited
	ping   *serverPingResult

	stats  map[string]string
	timer  *time.Timer
	self   *actor.PID
	root   *actor.RootContext
	parent *actor.PID
	failed bool
}

func newBridgeActor(jid string, wire session.Wire, health HealthConfig, server string, log *slog.Logger) actor.Actor {
	return &bridgeActor{jid: jid, wire: wire, health: health, server: server, log: log.With("bridge", jid)}
}

func (b *bridgeActor) Receive(ctx actor.Context) {
	switch msg := ctx.Message().(type) {
	case *actor.Started:
		b.self, b.root, b.parent = ctx.Self(), ctx.ActorSystem().Root, ctx.Parent()
		b.log.Info("bridge discovered")
		b.schedule(b.health.Interval, healthTick{})
	case *xmpp.Element:
		if stats, ok := xmpp.ParseStats(msg); ok {
			b.stats = stats
			ctx.Send(b.parent, &statsUpdate{jid: b.jid, stats: stats})
		}
	case healthTick:
		b.check(msg.retry)
	case healthResult:
		if msg.seq == b.seq {
			b.answer = &msg
			b.decide(ctx)
		}
	case serverPingResult:
		if msg.seq == b.seq {
			b.ping = &msg
			b.decide(ctx)
		}
	case *actor.Stopping:
		if b.timer != nil {
			b.timer.Stop()
		}
	case *actor.Stopped:
		b.log.Info("bridge gone")
	}
}

func (b *bridgeActor) check(retry bool) {
	if !b.health.Enabled {
		return
	}
	b.seq++
	b.answer, b.ping = nil, nil
	seq, self, root := b.seq, b.self, b.root
	iq := xmpp.NewIQ(xmpp.IQGet, "", b.jid, "", xmpp.NewElement(xmpp.Colibri2NSHealthcheck, "healthcheck"))
	b.wire.Request(iq, b.health.Timeout, func(_ *xmpp.Element, err error) {
		root.Send(self, healthResult{seq: seq, retry: retry, err: err})
	})
	if b.server != "" {
		ping := xmpp.NewIQ(xmpp.IQGet, "", b.server, "", xmpp.NewElement("urn:xmpp:ping", "ping"))
		b.wire.Request(ping, b.health.Timeout, func(_ *xmpp.Element, err error) {
			root.Send(self, serverPingResult{seq: seq, err: err})
		})
	}
}

// decide judges the current check once its answers are in: the bridge's,
// and the server's when it is pinged alongside.
func (b *bridgeActor) decide(ctx actor.Context) {
	if b.answer == nil || (b.server != "" && b.ping == nil) {
		return
	}
	r, ping := *b.answer, b.ping
	b.answer, b.ping = nil, nil
	if ping != nil && errors.Is(ping.err, session.ErrTimeout) {
		ctx.Send(b.parent, serverSlow{})
	}
	if r.err != nil && ping != nil && errors.Is(ping.err, session.ErrTimeout) {
		b.log.Warn("health check unanswered, but the XMPP server did not answer a ping sent with it either: its delay, not the bridge's",
			"server", b.server, "err", r.err)
		b.schedule(b.health.Interval, healthTick{})
		return
	}
	b.onHealthResult(ctx, r)
}

func (b *bridgeActor) onHealthResult(ctx actor.Context, r healthResult) {
	switch {
	case r.err == nil:
		if b.failed {
			b.log.Info("bridge healthy again")
		}
		b.failed = false
		b.schedule(b.health.Interval, healthTick{})
	case errors.Is(r.err, session.ErrNotConnected) || errors.Is(r.err, session.ErrDisconnected) || errors.Is(r.err, session.ErrClosed):
		// Our stream, not the bridge: the brewery re-learns bridges after
		// the re-join.
		b.schedule(b.health.Interval, healthTick{})
	case !r.retry:
		b.log.Warn("health check failed; retrying", "err", r.err)
		b.schedule(b.health.Interval/2, healthTick{retry: true})
	default:
		b.log.Error("bridge failed its health check", "err", r.err)
		b.failed = true
		ctx.Send(b.parent, &healthFailed{jid: b.jid, reason: r.err.Error()})
		b.schedule(b.health.Interval, healthTick{})
	}
}

func (b *bridgeActor) schedule(d time.Duration, msg healthTick) {
	if !b.health.Enabled {
		return
	}
	if b.timer != nil {
		b.timer.Stop()
	}
	self, root := b.self, b.root
	b.timer = time.AfterFunc(d, func() { root.Send(self, msg) })
}
