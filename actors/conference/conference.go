package conference

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/google/uuid"

	"focal/actors/bridge"
	"focal/actors/participant"
	"focal/media/sources"
	"focal/proto"
	"focal/xmpp"
	"focal/xmpp/session"
)

// conference is the actor for one room. It alone holds the room's state.
// What its replica must know is kept in the shape the replica receives
// (state.go): st, the members' and bridge sessions' embedded messages,
// and the source map; the rest is how this node drives the room now.
type conference struct {
	cfg  Config
	wire session.Wire // the focus's session in the room
	// bridgeWire reaches bridges whose own JID the brewery hides: Colibri2
	// to the occupant goes through the brewery room, so it is the node's
	// own session, which is in it (colibriWire).
	bridgeWire session.Wire
	room       string
	log        *slog.Logger

	self *actor.PID
	root *actor.RootContext

	// st holds the conference's own replicated fields (meeting id,
	// options, join counter, focus session); its members, bridges and
	// sources are kept below and put in only by replicatedState.
	st      *focalpb.ConferenceState
	members map[string]*member
	sources *sources.Map
	// sourcesCache is sourcesState's, for the map's revision.
	sourcesCache struct {
		revision uint64
		list     []*focalpb.EndpointSources
		valid    bool
	}
	bridges map[string]*bridgeSession // by bridge JID
	// bridgeOrder: bridges in the order the conference took them.
	bridgeOrder []string

	streamUp bool
	joined   bool // the focus is in the room, as owner
	everJoin bool // the room was joined at least once
	joinGen  int
	joinT    *time.Timer
	waiting  []waiter // requesters to answer once joined

	idleGen  int
	idleT    *time.Timer
	aloneGen int
	aloneT   *time.Timer
	// Source signalling batches (batch.go): batchesDue says a change went
	// into the batch of an accepted session since the batches last went;
	// batchT, of generation batchGen, is when they go.
	batchesDue   bool
	batchGen     int
	batchT       *time.Timer
	everEmptied  bool // somebody joined and everybody left
	ending       bool
	ownerPending string // nick being granted owner

	focusAddr string     // the focus's full JID, the initiator of Jingle sessions
	selecting *selection // the bridge Select in flight, if any
	selectGen uint64
	selectT   *time.Timer
	noBridge  bool // the last selection found no bridge
	// bridgeUnavailable: a selection found no bridge, and none has been
	// found since (the presence's <bridgeNotAvailable/>).
	bridgeUnavailable bool
	// presenceSent is the key of what the focus's presence in the room
	// carried last (FocusPresence.Key).
	presenceSent string
	// meetingIDSettled: st.MeetingId is final (the room answered its
	// disco#info, or failed to, or the conference was taken over), so
	// bridge sessions can be started; roomInfoAsked: the query is out.
	meetingIDSettled bool
	roomInfoAsked    bool

	// Cluster.
	standby    bool   // another node drives it; this one keeps its state
	standbyFor string // the node driving it, while standby
	latest     *focalpb.ConferenceState
	buffered   []*xmpp.Element // stanzas passed on to a standby by a previous owner
	// seats: the visitor nodes whose room the standby sits in; roster:
	// the latest presence from those rooms per occupant (seats.go).
	seats    map[string]bool
	roster   map[string]*xmpp.Element
	seatT    *time.Timer // armed for seatAt, the state's seats_from
	seatAt   int64
	restored bool       // taken over: the occupant list must confirm the members
	replica  *actor.PID // directory of the node standing by
	// replicated is the SHA-256 of the encoding of the state last sent to
	// the replica (without the envelope: version, owner, time), valid when
	// hasReplicated; version counts what was sent. A digest, not the
	// encoding: two encodings of every driven conference were a quarter of
	// a driving node's heap (BENCHMARKS.md, "Memory").
	replicated    [sha256.Size]byte
	hasReplicated bool
	version       uint64
	handing       *handingOver // a handover waiting for the children (handover.go)
	handedOver    bool         // stopped driving without leaving: the session moves on
	handedTo      *actor.PID   // the directory it sent its final state to
	// outbox: what waits for the replica to acknowledge the state it
	// follows from (outbox.go), in order; acked is the highest version the
	// replica acknowledged.
	outbox []*held
	acked  uint64
	// fencedAcked is the highest version acknowledged late (StaleAck):
	// enough to release what leaves on the shard session, and only that.
	fencedAcked uint64
	// unlet: stanzas released from the outbox, held on the shard session
	// until the replica has their Marks.
	unlet []*unlet
	// sentAt: when each version not yet acknowledged went to the replica
	// (this process's monotonic clock), to tell a stale acknowledgement.
	sentAt map[uint64]time.Time
	// acksDueArmed: an acksDue is on its way (replication.go).
	acksDueArmed bool
	// bridgeInFlight: members whose bridge messages went to a colibri
	// session actor after the last barrier it answered (→ the count of
	// such messages, bridgeSent, when the last went): a conference that
	// stops now cannot tell whether they reached the bridge (handover.go).
	bridgeInFlight map[string]uint64
	bridgeSent     uint64
}

// Start is where a new conference begins: driven on Wire, whose stream
// is up as Addr with XEP-0198 resumption id Session when Addr is set, or,
// with Standby, standing by for that state's owner, out of the room and
// without a wire.
type Start struct {
	Room string
	Wire session.Wire // the focus's session in the room
	// BridgeWire reaches bridges whose own JID the brewery hides: the
	// node's own session, which is in the brewery room.
	BridgeWire session.Wire
	Addr       string
	Session    string
	Standby    *focalpb.ConferenceState
}

// Props returns the props of the conference actor of one room.
func Props(cfg Config, s Start) *actor.Props {
	return actor.PropsFromProducer(func() actor.Actor { return newConference(cfg, s) })
}

func newConference(cfg Config, s Start) *conference {
	c := &conference{
		cfg:        cfg,
		wire:       s.Wire,
		bridgeWire: s.BridgeWire,
		room:       s.Room,
		log:        cfg.Logger.With("room", s.Room),
		streamUp:   s.Addr != "",
		focusAddr:  s.Addr,
		st:         &focalpb.ConferenceState{Room: s.Room, MeetingId: uuid.NewString(), Session: s.Session},
		members:    make(map[string]*member),
		sources:    sources.NewMap(cfg.Sources),
		bridges:    make(map[string]*bridgeSession),
	}
	if st := s.Standby; st != nil {
		c.standby, c.standbyFor, c.latest = true, st.Owner, st
	}
	return c
}

func (c *conference) Receive(ctx actor.Context) {
	c.handle(ctx)
	c.scheduleBatches()
	c.updatePresence()
	// Whatever the message, a state that differs from the replica's copy
	// goes to it: no list of state-changing messages to keep.
	c.replicateChanges(ctx)
	c.flushOutbox(ctx)
}

func (c *conference) handle(ctx actor.Context) {
	switch msg := ctx.Message().(type) {
	case *actor.Started:
		c.self, c.root = ctx.Self(), ctx.ActorSystem().Root
		if c.standby {
			c.log.Info("standing by for the conference", "owner", c.standbyFor)
			c.seatStandby()
		} else {
			c.log.Info("conference created")
			c.armIdleTimeout(c.cfg.InitialTimeout)
		}
		c.join(ctx)
	case *focalpb.ConferenceRequest:
		c.onRequest(ctx, msg)
	case *focalpb.Logout:
		c.onLogout(ctx, msg)
	case *Stanza:
		c.onStanza(ctx, msg.El)
	case *StreamUp:
		c.onStreamUp(ctx, msg)
	case *StreamDown:
		c.streamUp = false
	case *Rewire:
		// What was held on the old session ended with it.
		c.wire, c.streamUp, c.unlet = msg.Wire, false, nil
		c.rewireBridges(ctx)
	case seatDue:
		c.onSeatDue(msg)
	case standbyWaitOver:
		c.onStandbyWaitOver(ctx, msg)
	case idleTimeout:
		c.onIdleTimeout(ctx, msg)
	case joinTimeout:
		c.onJoinTimeout(ctx, msg)
	case aloneTimeout:
		c.onAloneTimeout(ctx, msg)
	case signalTimeout:
		c.onSignalTimeout(msg)
	case ownerGranted:
		c.onOwnerGranted(ctx, msg)
	case roomInfo:
		c.onRoomInfo(ctx, msg)
	case vnodeConnected:
		c.onVNodeConnected(msg)
	case *VNodeUp:
		c.onVNodeUp(msg)
	case *bridge.Selected:
		c.onSelected(ctx, msg.ID, msg, nil)
	case selectTimeout:
		c.onSelected(ctx, msg.gen, nil, errors.New("the brewery did not answer"))
	case *bridge.Allocated:
		c.onAllocated(ctx, msg)
	case *bridge.ColibriFailed:
		c.onColibriFailed(ctx, msg)
	case *bridge.Down:
		c.onBridgeDown(ctx, msg)
	case *bridge.Up:
		c.retrySelection(ctx)
	case *participant.Report:
		c.onReport(ctx, msg)
	case *bridge.ICERestarted:
		c.onICERestarted(ctx, msg)
	case *focalpb.StateAck:
		c.onStateAck(ctx, msg)
	case acksDue:
		c.onAcksDue()
	case *forParticipant:
		if m := c.members[msg.nick]; m != nil {
			ctx.Send(m.pid, msg.msg)
		}
	case *focalpb.ConferenceState:
		c.onReplicatedState(ctx, msg)
	case *Promote:
		c.promote(ctx, msg)
	case *ReplicaIs:
		// The new replica has nothing yet: it gets the whole state.
		c.replica, c.hasReplicated, c.sentAt = msg.PID, false, nil
	case *HandOver:
		c.handOver(ctx, msg.To, msg.Node, "handed over to "+msg.Node)
	case *PassOn:
		c.passOn(ctx, msg)
	case *LetGo:
		c.letGo(ctx)
	case *Barrier:
		c.onBarrier(ctx, msg)
	case barrierDone:
		c.bridgeConfirmed(msg.bridgeSent)
		msg.reply()
	case childrenDone:
		c.onChildrenDone(ctx, msg)
	case finalDue:
		c.onFinalDue(ctx, msg)
	case *GetSnapshot:
		ctx.Respond(c.snapshot())
	case *actor.Stopping:
		c.stopTimers()
		c.leaveSeats(0)
		if !c.standby && c.handedOver {
			// The next owner joins the visitor rooms as it drives; this
			// node's session leaves them once it has.
			for _, v := range c.st.VisitorNodes {
				c.leaveVisitorRoom(v.Node, c.cfg.SeatLeaveDelay)
			}
		}
		// With a replica, the conference outlives this node: the replica
		// takes it over with its media.
		if !c.standby && !c.handedOver {
			c.emitAll(ctx)
			if c.replica == nil {
				c.expireBridges()
			}
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
	if c.standby {
		// Its state, sessions included, is imported when it drives: the
		// request is judged then, or the requester told to retry if that
		// takes longer than StandbyWait.
		if ctx.Sender() != nil {
			c.waiting = append(c.waiting, waiter{to: ctx.Sender(), pending: req})
			self, root := c.self, c.root
			time.AfterFunc(c.cfg.StandbyWait, func() { root.Send(self, standbyWaitOver{req}) })
		}
		return
	}
	w, refused := c.admit(req, ctx.Sender())
	if refused != nil {
		if ctx.Sender() != nil {
			ctx.Respond(&focalpb.ConferenceResponse{Room: c.room, Error: refused})
		}
		return
	}
	if c.st.Options == nil {
		c.st.Options = optionsFrom(req.Properties, c.log)
	}
	if c.joined && !c.standby {
		// A new request while nobody is in the room yet gives the requester
		// the full initial timeout to join (Jicofo's fix for PR #1257's race).
		if len(c.members) == 0 {
			c.armIdleTimeout(c.cfg.InitialTimeout)
		}
		c.respondReady(ctx, w)
		// A member may have just shown its session.
		c.electOwner(ctx)
		return
	}
	if w.to != nil {
		c.waiting = append(c.waiting, w)
	}
}

// admit checks the visitor node a request from to names, authenticates it
// when the room is authenticated,
// and says whom to answer and with what, or why it is refused.
func (c *conference) admit(req *focalpb.ConferenceRequest, to *actor.PID) (waiter, *focalpb.StanzaError) {
	if refused := c.checkVNode(req); refused != nil {
		return waiter{to: to}, refused
	}
	if req.VisitorsComponent != "" && c.st.VisitorsComponent == "" {
		c.st.VisitorsComponent = req.VisitorsComponent
	}
	w := waiter{to: to}
	if c.cfg.Auth.Enabled() && !c.isBreakout() {
		var refused *focalpb.StanzaError
		if w, refused = c.authenticate(req, time.Now()); refused != nil {
			w.to = to
			return w, refused
		}
		w.to = to
	}
	w.visitor, w.vnode = c.visitorRequestOf(req), req.Vnode
	return w, nil
}

// answerWaiting answers every requester waiting for the focus to be in
// the room, judging first those that came while it stood by.
// standbyWaitOver: a request that reached the standby waited StandbyWait.
type standbyWaitOver struct{ req *focalpb.ConferenceRequest }

// onStandbyWaitOver hands a request back to the directory, for the owner,
// if the conference still stands by; once it drives, the request was
// answered with the others.
func (c *conference) onStandbyWaitOver(ctx actor.Context, msg standbyWaitOver) {
	if !c.standby {
		return
	}
	i := slices.IndexFunc(c.waiting, func(w waiter) bool { return w.pending == msg.req })
	if i < 0 {
		return
	}
	c.log.Info("a request waited for the standby to drive; passing it to the owner", "owner", c.standbyFor, "after", c.cfg.StandbyWait)
	ctx.Send(ctx.Parent(), &StandbyGaveUp{Request: msg.req, To: c.waiting[i].to, Owner: c.standbyFor})
	c.waiting = slices.Delete(c.waiting, i, i+1)
}

func (c *conference) answerWaiting(ctx actor.Context) {
	for _, w := range c.waiting {
		if w.pending != nil {
			var refused *focalpb.StanzaError
			if w, refused = c.admit(w.pending, w.to); refused != nil {
				ctx.Send(w.to, &focalpb.ConferenceResponse{Room: c.room, Error: refused})
				continue
			}
		}
		c.respondReady(ctx, w)
	}
	c.waiting = nil
}

func (c *conference) respondReady(ctx actor.Context, w waiter) {
	if w.to == nil {
		return
	}
	props := []*focalpb.Property{{Name: "authentication", Value: "false"}}
	if c.cfg.Auth.Enabled() {
		props = []*focalpb.Property{{Name: "authentication", Value: "true"}, {Name: "externalAuth", Value: fmt.Sprint(c.cfg.Auth.External)}}
	}
	props = append(props, &focalpb.Property{Name: "sipGatewayEnabled", Value: "false"},
		&focalpb.Property{Name: "visitors-supported", Value: fmt.Sprint(c.visitorsSupported())})
	resp := &focalpb.ConferenceResponse{
		Room:       c.room,
		Ready:      true,
		FocusJid:   c.cfg.FocusJID,
		SessionId:  w.session,
		Identity:   w.identity,
		Properties: props,
	}
	if vnode := c.redirect(ctx, w); vnode != "" {
		n, _ := c.cfg.Visitors.Node(vnode)
		resp.Vnode = vnode
		resp.FocusJid = bareOf(n.User)
		c.log.Info("request sent to a visitor node", "vnode", vnode)
	}
	ctx.Send(w.to, resp)
}

func (c *conference) failWaiting(ctx actor.Context, err xmpp.StanzaError) {
	for _, w := range c.waiting {
		ctx.Send(w.to, &focalpb.ConferenceResponse{
			Room:  c.room,
			Error: &focalpb.StanzaError{Type: err.Type, Condition: err.Condition, Text: err.Text},
		})
	}
	c.waiting = nil
}

func (c *conference) onStanza(ctx actor.Context, el *xmpp.Element) {
	if c.standby {
		if el.Name.Local == xmpp.KindPresence && c.keepRoster(el) {
			return
		}
		c.buffer(el)
		return
	}
	switch el.Name.Local {
	case xmpp.KindPresence:
		if p, ok := xmpp.ParseOccupantPresence(el); ok {
			c.onPresence(ctx, p)
		}
	case xmpp.KindMessage:
		// The ingress passes on messages from the room's occupants and
		// from Jitsi's components, which it has checked.
		if from, _, _ := strings.Cut(el.AttrValue("from"), "/"); strings.EqualFold(from, c.room) {
			c.refuseOccupantMessage(el)
			return
		}
		c.onComponentMessage(ctx, el)
	case xmpp.KindIQ:
		if !xmpp.IsIQRequest(el) {
			return
		}
		// Jingle and the rest of what occupants ask the focus is their
		// participant actor's business.
		_, nick, _ := strings.Cut(el.AttrValue("from"), "/")
		c.log.Debug("request", "participant", nick, "id", el.AttrValue("id"))
		if m := c.members[nick]; m != nil {
			if c.handledBefore(m, el) {
				c.log.Info("request answered before the session moved; not acted on again", "participant", nick, "id", el.AttrValue("id"))
				return
			}
			if p := el.FirstChild(); p != nil && p.Name.Local == "mute" {
				if _, ok := xmpp.MuteMediaOf(p.Name.Space); ok {
					c.onMute(ctx, el, m, p)
					return
				}
			}
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
	if c.selectT != nil {
		c.selectT.Stop()
	}
	if c.aloneT != nil {
		c.aloneT.Stop()
	}
	if c.batchT != nil {
		c.batchT.Stop()
	}
	if c.seatT != nil {
		c.seatT.Stop()
	}
}

// after delivers msg to the conference after d, unless it has stopped.
func (c *conference) after(d time.Duration, msg any) *time.Timer {
	self, root := c.self, c.root
	return time.AfterFunc(d, func() { root.Send(self, msg) })
}
