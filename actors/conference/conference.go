package conference

import (
	"log/slog"
	"strings"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/google/uuid"

	"focal/actors/bridge"
	"focal/actors/participant"
	"focal/media/sources"
	"focal/proto"
	"focal/xmpp"
)

// conference is the actor for one room. It alone holds the room's state: whether the
// focus is in the room, who else is, who was asked to wait for ready, and the
// conference-wide options taken from the first request.
type conference struct {
	cfg  Config
	wire Wire // the focus's session in the room
	// bridgeWire reaches bridges: Colibri2 goes through the brewery room,
	// so it is the node's own session, which is in it.
	bridgeWire Wire
	room       string
	log        *slog.Logger

	self *actor.PID
	root *actor.RootContext

	streamUp bool
	joined   bool // the focus is in the room, as owner
	everJoin bool // the room was joined at least once
	joinGen  int
	joinT    *time.Timer
	waiting  []*actor.PID // requesters to answer once joined

	options      Options
	haveOptions  bool
	members      map[string]*member
	nextSeq      int
	idleGen      int
	idleT        *time.Timer
	everEmptied  bool // somebody joined and everybody left
	ending       bool
	ownerPending string // nick being granted owner

	// Media.
	focusAddr   string // the focus's full JID, the initiator of Jingle sessions
	meetingID   string // the conference's id on bridges
	sources     *sources.Map
	bridges     map[string]*bridgeSession // by bridge JID
	bridgeOrder []string                  // bridges in the order the conference took them
	inviteGen   int

	// Cluster.
	sessionID  string // XEP-0198 id of the session the focus is in the room with
	standby    bool   // another node drives it; this one keeps its state
	standbyFor string // the node driving it, while standby
	latest     *focalpb.ConferenceState
	buffered   []*xmpp.Element // stanzas passed on to a standby by a previous owner
	restored   bool            // taken over: the occupant list must confirm the members
	replica    *actor.PID      // directory of the node standing by
	handedOver bool            // stopped driving without leaving: the session moves on
	handedTo   *actor.PID      // the directory it sent its final state to
	version    uint64
}

// newConference makes a conference driven on wire (whose stream is up
// with the given address and session, when addr is set), or, with a
// standby state, one that stands by without a wire.
func newConference(cfg Config, wire, bridgeWire Wire, room, focusAddr, sessionID string, standby *focalpb.ConferenceState) *conference {
	c := &conference{
		cfg:        cfg,
		wire:       wire,
		bridgeWire: bridgeWire,
		room:       room,
		log:        cfg.Logger.With("room", room),
		streamUp:   focusAddr != "",
		focusAddr:  focusAddr,
		sessionID:  sessionID,
		members:    make(map[string]*member),
		meetingID:  uuid.NewString(),
		sources:    sources.NewMap(cfg.Sources),
		bridges:    make(map[string]*bridgeSession),
	}
	if standby != nil {
		c.standby, c.standbyFor, c.latest = true, standby.Owner, standby
	}
	return c
}

func (c *conference) Receive(ctx actor.Context) {
	c.handle(ctx)
	if changesState(ctx.Message()) {
		c.replicate(ctx)
	}
}

// changesState says whether msg may change what the replica must know.
func changesState(msg any) bool {
	switch msg.(type) {
	case *focalpb.ConferenceRequest, *Stanza, *StreamUp, selected, ownerGranted,
		*bridge.Allocated, *bridge.ColibriFailed, *bridge.Down,
		*participant.Ready, *participant.Accepted, *participant.SourcesChanged,
		*participant.RestartRequested, *participant.SessionEnded, *participant.SessionChanged:
		return true
	}
	return false
}

func (c *conference) handle(ctx actor.Context) {
	switch msg := ctx.Message().(type) {
	case *actor.Started:
		c.self, c.root = ctx.Self(), ctx.ActorSystem().Root
		if c.standby {
			c.log.Info("standing by for the conference", "owner", c.standbyFor)
		} else {
			c.log.Info("conference created")
			c.armIdleTimeout(c.cfg.InitialTimeout)
		}
		c.join(ctx)
	case *focalpb.ConferenceRequest:
		c.onRequest(ctx, msg)
	case *Stanza:
		c.onStanza(ctx, msg.El)
	case *StreamUp:
		c.onStreamUp(ctx, msg)
	case *StreamDown:
		c.streamUp = false
	case *rewire:
		c.wire, c.streamUp = msg.wire, false
	case idleTimeout:
		c.onIdleTimeout(ctx, msg)
	case joinTimeout:
		c.onJoinTimeout(ctx, msg)
	case ownerGranted:
		c.onOwnerGranted(ctx, msg)
	case selected:
		c.onSelected(ctx, msg)
	case *bridge.Allocated:
		c.onAllocated(ctx, msg)
	case *bridge.ColibriFailed:
		c.onColibriFailed(ctx, msg)
	case *bridge.Down:
		c.onBridgeDown(ctx, msg)
	case *bridge.Up:
		c.inviteAll(ctx)
	case *participant.Ready:
		c.onReady(ctx, msg)
	case *participant.Accepted:
		c.onAccepted(ctx, msg)
	case *participant.TransportChanged:
		c.onTransport(ctx, msg)
	case *participant.SourcesChanged:
		c.onSourcesChanged(ctx, msg)
	case *participant.RestartRequested:
		c.onRestartRequested(ctx, msg)
	case *participant.SessionEnded:
		c.onSessionEnded(ctx, msg)
	case *participant.SessionChanged:
		if m := c.members[msg.Nick]; m != nil {
			m.session = msg.Session
		}
	case *focalpb.ConferenceState:
		c.onReplicatedState(ctx, msg)
	case *promote:
		c.promote(ctx, msg)
	case *replicaIs:
		c.replica = msg.pid
		c.replicate(ctx)
	case *handOver:
		c.handOver(ctx, msg.to, msg.node, "handed over to "+msg.node)
	case *passOn:
		c.passOn(ctx, msg)
	case *letGo:
		// Best effort: if the replica can still be reached (this node only
		// thinks it is cut off), it resumes at once; otherwise the majority
		// does after the owner is declared dead.
		c.handOver(ctx, c.replica, "", "cut off from the cluster")
	case *Barrier:
		c.onBarrier(ctx, msg)
	case barrierDone:
		msg.reply()
	case *GetSnapshot:
		ctx.Respond(c.snapshot())
	case *actor.Stopping:
		c.stopTimers()
		// With a replica, the conference outlives this node: the replica
		// takes it over with its media.
		if !c.standby && !c.handedOver && c.replica == nil {
			c.expireBridges()
		}
		if c.joined {
			// The node is shutting down: leave rather than vanish with the stream.
			_ = c.wire.Send(xmpp.LeavePresence(c.room, c.cfg.Nick))
			c.joined = false
		}
	case *actor.Stopped:
		c.log.Info("conference ended")
	}
}

func (c *conference) onRequest(ctx actor.Context, req *focalpb.ConferenceRequest) {
	if !c.haveOptions {
		c.options = optionsFrom(req.Properties, c.log)
		c.haveOptions = true
	}
	if c.joined && !c.standby {
		// A new request while nobody is in the room yet gives the requester
		// the full initial timeout to join (Jicofo's fix for PR #1257's race).
		if len(c.members) == 0 {
			c.armIdleTimeout(c.cfg.InitialTimeout)
		}
		c.respondReady(ctx, ctx.Sender())
		return
	}
	if ctx.Sender() != nil {
		c.waiting = append(c.waiting, ctx.Sender())
	}
}

func (c *conference) respondReady(ctx actor.Context, to *actor.PID) {
	if to == nil {
		return
	}
	ctx.Send(to, &focalpb.ConferenceResponse{
		Room:     c.room,
		Ready:    true,
		FocusJid: c.cfg.FocusJID,
		Properties: []*focalpb.Property{
			{Name: "authentication", Value: "false"},
			{Name: "sipGatewayEnabled", Value: "false"},
		},
	})
}

func (c *conference) failWaiting(ctx actor.Context, err xmpp.StanzaError) {
	for _, to := range c.waiting {
		ctx.Send(to, &focalpb.ConferenceResponse{
			Room:  c.room,
			Error: &focalpb.StanzaError{Type: err.Type, Condition: err.Condition, Text: err.Text},
		})
	}
	c.waiting = nil
}

func (c *conference) onStanza(ctx actor.Context, el *xmpp.Element) {
	if c.standby {
		c.buffer(el)
		return
	}
	switch el.Name.Local {
	case xmpp.KindPresence:
		if p, ok := xmpp.ParseOccupantPresence(el); ok {
			c.onPresence(ctx, p)
		}
	case xmpp.KindIQ:
		if !xmpp.IsIQRequest(el) {
			return
		}
		// Jingle and the rest of what occupants ask the focus is their
		// participant actor's business.
		_, nick, _ := strings.Cut(el.AttrValue("from"), "/")
		if m := c.members[nick]; m != nil {
			ctx.Send(m.pid, &participant.IQ{El: el})
			return
		}
		c.reply(xmpp.ErrorFor(el, xmpp.NewStanzaError(xmpp.ItemNotFound, "not a participant of "+c.room)))
	}
}

func (c *conference) stopTimers() {
	if c.idleT != nil {
		c.idleT.Stop()
	}
	if c.joinT != nil {
		c.joinT.Stop()
	}
}

// after delivers msg to the conference after d, unless it has stopped.
func (c *conference) after(d time.Duration, msg any) *time.Timer {
	self, root := c.self, c.root
	return time.AfterFunc(d, func() { root.Send(self, msg) })
}
