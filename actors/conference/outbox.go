package conference

import (
	"context"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"focal/actors/bridge"
	"focal/actors/participant"
	"focal/proto"
	"focal/xmpp"
	"focal/xmpp/session"
)

// The outbox makes what participants and bridges are told survive a
// change of owner exactly once.
//
// Whatever the conference sends follows from a change of its state. Had
// it gone out before the replica had that state, the next owner would
// not know of it, and would act again on the request that caused it when
// the server delivers that request once more (it was not acknowledged
// yet when the session moved): a second answer, the same source signalled
// twice. So the stanzas to send wait in the outbox, which is part of the
// replicated state (ConferenceState.outbox), until the replica
// acknowledges a version that holds them (StateAck); only then do they go
// out, and leave the outbox, which the replica learns with the next
// state. The ids of the requests answered are kept with each member
// (MemberState.handled), so a request delivered again is recognised.
// Updates for the bridges are held the same way; the member's
// bridge_behind says one is pending.
//
// A stanza for the room leaves through the shard session, and whether it
// reached the server is told by the server's own count, which the next
// owner learns when it resumes the session (session.HeldWire). So such a
// stanza is queued on the session held as soon as it is decided, at a
// place in that count (its Mark), which goes into its outbox entry and so
// to the replica with the state it follows from; the acknowledgement of
// that state lets the session write it (the unlet list), and the entry
// leaves the outbox once the server has acknowledged the stanza. A new
// owner drops the entries at or below the count it resumed with, and
// sends the rest. What cannot be held so waits in the outbox itself
// (held entries) and goes out on the acknowledgement.
//
// What a takeover leaves:
//   - The owner cut off (partition, stalled process): nothing it decided
//     since is acknowledged, so nothing of it went out; the next owner
//     acts on the requests the server delivers again.
//   - Acknowledged, not yet sent (only the replies from the replica are
//     lost, a one-way cut): the next owner sends what is in the outbox.
//   - Sent: the replica has its Mark, and the server's count says whether
//     it arrived; the next owner sends it again only if it did not. (A
//     stanza to a visitor node, on the node's own connection, has no
//     Mark: sent, and the owner gone before its removal from the outbox
//     reached the replica, it is sent again.)
//
// Updates for the bridges leave through the node's brewery session,
// which nobody resumes: they have no Mark, and wait in the outbox. A
// conference without a replica (a single node, or before it is in the
// room) sends at once.

// held is one entry of the outbox on the node that queued it.
type held struct {
	// after is the version the replica must acknowledge, set (sealed)
	// once the state that holds the entry was sent.
	after  uint64
	sealed bool
	// A stanza: its replicated form, the element, and where an IQ
	// request's answer goes.
	out    *focalpb.Outgoing
	el     *xmpp.Element
	answer session.ResponseFunc
	// Or a message for a colibri session, about member nick.
	to   *actor.PID
	msg  any
	nick string
	// toAddress: the colibri session sends to the bridge's own JID, on
	// the shard session (bridge.ColibriConfig.Address).
	toAddress bool
}

// unlet is a stanza queued held on the shard session: let go once the
// replica has acknowledged a state that carries its Mark.
type unlet struct {
	wire session.HeldWire
	mark session.Mark
	// queuedAt is the last version sent when it was queued; after, once
	// sealed, the first version sent since, which carries the Mark.
	queuedAt uint64
	after    uint64
	sealed   bool
}

// maxHandled is how many request ids a member keeps: far more than a
// client has unanswered when a session moves.
const maxHandled = 32

// send queues a stanza that needs no answer.
func (c *conference) send(stanza *xmpp.Element, nick string) {
	c.queue(stanza, focalpb.OutgoingKind_OUTGOING_STANZA, nick, "", nil)
}

// reply queues the answer to a participant's request, which the member
// then counts as handled.
func (c *conference) reply(stanza *xmpp.Element) {
	nick := ""
	if room, n, ok := strings.Cut(stanza.AttrValue("to"), "/"); ok && room == c.room {
		nick = n
	} else if _, visitor := c.nodeOfRoom(room); ok && visitor {
		nick = n
	}
	if m := c.members[nick]; m != nil && stanza.Name.Local == xmpp.KindIQ {
		if id := stanza.AttrValue("id"); id != "" && !slices.Contains(m.Handled, id) {
			m.Handled = append(m.Handled, id)
			if over := len(m.Handled) - maxHandled; over > 0 {
				m.Handled = slices.Delete(m.Handled, 0, over)
			}
		}
	}
	c.send(stanza, nick)
}

// handledBefore says whether a participant's request was answered
// already: the server delivered it again after the session moved.
func (c *conference) handledBefore(m *member, iq *xmpp.Element) bool {
	id := iq.AttrValue("id")
	return id != "" && slices.Contains(m.Handled, id)
}

func (c *conference) queue(el *xmpp.Element, kind focalpb.OutgoingKind, nick, sid string, answer session.ResponseFunc) {
	out := &focalpb.Outgoing{Xml: el.String(), Kind: kind, Nick: nick, Sid: sid}
	c.st.Outbox = append(c.st.Outbox, out)
	c.enqueue(out, el, answer)
}

// enqueue puts a stanza of the outbox on the room's session at once,
// held: its Mark then goes to the replica with the state it follows
// from, and the acknowledgement of that state lets it go, one round trip
// as for anything else in the outbox. A stanza that cannot be held so
// (no replica, another connection, a session that does not count, or
// one waiting in the outbox before it, whose place it must not take)
// waits in the outbox.
func (c *conference) enqueue(out *focalpb.Outgoing, el *xmpp.Element, answer session.ResponseFunc) {
	if !c.direct() && !c.stanzaWaiting() && c.holdOnSession(out, el, answer) {
		return
	}
	c.outbox = append(c.outbox, &held{out: out, el: el, answer: answer})
}

// stanzaWaiting says whether a stanza waits in the outbox.
func (c *conference) stanzaWaiting() bool {
	return slices.ContainsFunc(c.outbox, func(h *held) bool { return h.out != nil })
}

// holdOnSession queues a stanza held on the room's session and notes its
// Mark, or reports that it cannot (and then queued nothing).
func (c *conference) holdOnSession(out *focalpb.Outgoing, el *xmpp.Element, answer session.ResponseFunc) bool {
	wire := c.wireFor(el.AttrValue("to"))
	// Only the room's session is resumed by the next owner: a visitor
	// node's connection is not, and a stanza held there would hold it up.
	hw, ok := wire.(session.HeldWire)
	if !ok || wire != c.wire {
		return false
	}
	var mark session.Mark
	var err error
	if out.Kind == focalpb.OutgoingKind_OUTGOING_STANZA {
		mark, err = hw.SendHeld(el)
	} else {
		if answer == nil {
			answer = c.answerRoute(out)
		}
		mark, err = hw.RequestHeld(el, c.cfg.RequestTimeout, answer)
	}
	if err != nil {
		return false
	}
	if c.log.Enabled(context.Background(), slog.LevelDebug) {
		c.log.Debug("queued held", "to", el.AttrValue("to"), "kind", el.Name.Local, "type", el.AttrValue("type"), "id", el.AttrValue("id"), "pos", mark.Pos)
	}
	out.Session, out.Pos = mark.Session, mark.Pos
	c.unlet = append(c.unlet, &unlet{wire: hw, mark: mark, queuedAt: c.version})
	return true
}

// queueFrom takes in what a participant wants sent.
func (c *conference) queueFrom(nick string, out []participant.Outgoing) {
	for _, o := range out {
		if o.Kind == focalpb.OutgoingKind_OUTGOING_STANZA {
			c.reply(o.El)
			continue
		}
		c.queue(o.El, o.Kind, nick, o.SID, o.Answer)
	}
}

// tellBridge queues a message for the colibri session at to about member
// m's endpoint.
func (c *conference) tellBridge(to *actor.PID, m *member, msg any) {
	m.BridgeBehind = true
	h := &held{to: to, msg: msg, nick: m.Nick}
	for _, bs := range c.bridges {
		if bs.pid == to {
			h.toAddress = bs.Address != ""
		}
	}
	c.outbox = append(c.outbox, h)
}

// flushOutbox runs after the state went to the replica: what was queued
// waits for that version, and whatever may go, goes.
func (c *conference) flushOutbox(ctx actor.Context) {
	for _, h := range c.outbox {
		if !h.sealed {
			h.after, h.sealed = c.version, true
		}
	}
	// What release queued held has its Mark in the state now, and what the
	// server acknowledged has left it: the replica gets that at once, and
	// the session writes the held once the replica has their Marks.
	if c.release(ctx) {
		c.replicateChanges(ctx)
	}
	for _, u := range c.unlet {
		if !u.sealed && c.version > u.queuedAt {
			u.after, u.sealed = c.version, true
		}
	}
}

// onStateAck: the replica has version v and every earlier one. An
// acknowledgement that took longer than StaleAck to come back releases
// only what leaves on the shard session: this process may have been
// stopped meanwhile, long enough for the cluster to give the conference
// to another node, which then holds the session, and the server lets
// nothing more through this node's connection. What leaves on the node's
// own connections (stanzas to visitor nodes, Colibri2 to a bridge whose
// own JID is unknown) is not fenced so, and waits: the state goes again,
// and a replica that still stands by for this node acknowledges it at
// once. So a link slower than StaleAck holds back only those.
func (c *conference) onStateAck(ctx actor.Context, ack *focalpb.StateAck) {
	if c.awaitingFinalAck() && ack.Version == c.handing.final.Version {
		c.onFinalAcked(ctx)
		return
	}
	sent, known := c.sentAt[ack.Version]
	for v := range c.sentAt {
		if v <= ack.Version {
			delete(c.sentAt, v)
		}
	}
	if known && c.cfg.StaleAck > 0 && time.Since(sent) > c.cfg.StaleAck {
		c.log.Warn("the replica's acknowledgement came late; asking again before sending what the shard session does not fence", "version", ack.Version, "after", time.Since(sent))
		c.hasReplicated = false
		if ack.Version > c.fencedAcked {
			c.fencedAcked = ack.Version
		}
		c.release(ctx)
		return
	}
	if ack.Version > c.acked {
		c.acked = ack.Version
	}
	c.release(ctx)
}

// direct says whether the conference sends without waiting for a
// replica: it has none, or is not in the room yet (nothing replicated).
func (c *conference) direct() bool {
	return c.replica == nil || !c.everJoin
}

// release lets go what the replica has acknowledged the Marks of, and
// sends, in order, what it has acknowledged the state of. It reports
// whether the replicated outbox changed.
func (c *conference) release(ctx actor.Context) (changed bool) {
	if c.standby || c.handedOver || c.awaitingFinalAck() {
		// The final state holds the outbox: the new owner sends it.
		return false
	}
	c.letAcknowledged(c.direct())
	n := 0
	var sent map[*focalpb.Outgoing]bool
	for _, h := range c.outbox {
		if !h.sealed || (!c.direct() && h.after > c.acked && (h.after > c.fencedAcked || !c.fenced(h))) {
			break
		}
		n++
		kept := c.emit(ctx, h, !c.direct())
		if h.out == nil {
			continue
		}
		changed = true
		if !kept {
			if sent == nil {
				sent = make(map[*focalpb.Outgoing]bool)
			}
			sent[h.out] = true
		}
	}
	c.outbox = slices.Delete(c.outbox, 0, n)
	// What went out leaves the replicated outbox, unless it waits for the
	// server's acknowledgement there. The places grow along the outbox:
	// past the first one not acknowledged, none is.
	before := len(c.st.Outbox)
	unacknowledged := false
	c.st.Outbox = slices.DeleteFunc(c.st.Outbox, func(o *focalpb.Outgoing) bool {
		switch {
		case sent[o]:
			return true
		case o.Pos == 0 || unacknowledged:
			return false
		case c.serverHas(o):
			return true
		}
		unacknowledged = true
		return false
	})
	changed = changed || len(c.st.Outbox) != before
	if n == 0 {
		return changed
	}
	for _, m := range c.members {
		if m.BridgeBehind && !c.bridgePending(m.Nick) {
			m.BridgeBehind = false
			changed = true
		}
	}
	return changed
}

// letAcknowledged lets go the held stanzas whose Marks the replica has
// acknowledged, or all of them.
func (c *conference) letAcknowledged(all bool) {
	acked := max(c.acked, c.fencedAcked) // held on the shard session: fenced
	c.unlet = slices.DeleteFunc(c.unlet, func(u *unlet) bool {
		if all || (u.sealed && u.after <= acked) {
			u.wire.Let(u.mark)
			return true
		}
		return false
	})
}

// serverHas says whether an outbox entry queued on the shard session is
// acknowledged by the server, or was queued on a session that is over:
// either way it has nothing more to wait for.
func (c *conference) serverHas(o *focalpb.Outgoing) bool {
	if o.Pos == 0 {
		return false
	}
	if o.Session != c.st.Session {
		return true
	}
	hw, ok := c.wire.(session.HeldWire)
	return ok && hw.Received(session.Mark{Session: o.Session, Pos: o.Pos})
}

// fenced says whether an entry leaves on the shard session, which only
// the session's holder can write on (see onStateAck).
func (c *conference) fenced(h *held) bool {
	if h.to != nil {
		return h.toAddress
	}
	return c.visitorWireFor(h.el.AttrValue("to")) == nil
}

// emitAll sends what is left when the conference ends without handing
// over: nobody else will.
func (c *conference) emitAll(ctx actor.Context) {
	c.letAcknowledged(true)
	for _, h := range c.outbox {
		c.emit(ctx, h, false)
	}
	c.outbox, c.st.Outbox = nil, nil
}

func (c *conference) bridgePending(nick string) bool {
	for _, h := range c.outbox {
		if h.to != nil && h.nick == nick {
			return true
		}
	}
	return false
}

// emit sends an entry of the outbox; a stanza for the room's session goes
// held when hold says so (one more round trip: the replica must have its
// Mark), and then keeps its outbox entry until the server has it (emit
// reports that).
func (c *conference) emit(ctx actor.Context, h *held, hold bool) (kept bool) {
	if h.to != nil {
		ctx.Send(h.to, h.msg)
		c.bridgeSent++
		if c.bridgeInFlight == nil {
			c.bridgeInFlight = make(map[string]uint64)
		}
		c.bridgeInFlight[h.nick] = c.bridgeSent
		return false
	}
	if hold && c.holdOnSession(h.out, h.el, h.answer) {
		return true
	}
	wire := c.wireFor(h.el.AttrValue("to"))
	if c.log.Enabled(context.Background(), slog.LevelDebug) {
		c.log.Debug("sent", "to", h.el.AttrValue("to"), "kind", h.el.Name.Local, "type", h.el.AttrValue("type"), "id", h.el.AttrValue("id"))
	}
	if h.out.Kind == focalpb.OutgoingKind_OUTGOING_STANZA {
		if err := wire.Send(h.el); err != nil {
			c.log.Warn("stanza not sent", "to", h.el.AttrValue("to"), "err", err)
		}
		return false
	}
	answer := h.answer
	if answer == nil {
		answer = c.answerRoute(h.out)
	}
	wire.Request(h.el, c.cfg.RequestTimeout, answer)
	return false
}

// answerRoute is where the answer to a request queued by a previous owner
// goes: a refused session-initiate to its participant, anything else to
// the log.
func (c *conference) answerRoute(out *focalpb.Outgoing) session.ResponseFunc {
	self, root, log := c.self, c.root, c.log
	nick, sid := out.Nick, out.Sid
	if out.Kind == focalpb.OutgoingKind_OUTGOING_SESSION_INITIATE {
		return func(_ *xmpp.Element, err error) {
			root.Send(self, &forParticipant{nick: nick, msg: &participant.InitiateAnswered{SID: sid, Err: err}})
		}
	}
	return func(_ *xmpp.Element, err error) {
		if err != nil {
			log.Warn("request not accepted", "participant", nick, "err", err)
		}
	}
}

// forParticipant passes msg on to the participant nick, if still there.
type forParticipant struct {
	nick string
	msg  any
}

// importOutbox takes over what a previous owner had not sent: its stanzas
// go out once this node's replica has them; participants whose bridge
// update was pending get one with everything they have now.
//
// An entry the previous owner had queued on the session it was on is
// dropped when the server's count, as this node resumed that session,
// covers it: the server received it. Any other goes again.
func (c *conference) importOutbox(ctx actor.Context) {
	var took session.Mark
	if hw, ok := c.wire.(session.HeldWire); ok {
		took = hw.TookOver()
	}
	imported := c.st.Outbox
	c.st.Outbox = nil
	for _, out := range imported {
		if out.Pos > 0 && out.Session == took.Session && out.Pos <= took.Pos {
			c.log.Debug("the previous owner's stanza reached the server", "participant", out.Nick, "pos", out.Pos)
			continue
		}
		out.Session, out.Pos = "", 0
		el, err := xmpp.Parse([]byte(out.Xml))
		if err != nil {
			c.log.Error("replicated outbox entry unreadable", "participant", out.Nick, "err", err)
			continue
		}
		c.st.Outbox = append(c.st.Outbox, out)
		c.enqueue(out, el, nil)
	}
	for _, m := range c.membersInOrder() {
		if !m.BridgeBehind || !m.Allocated {
			continue
		}
		if bs := c.bridges[m.Bridge]; bs != nil {
			all := c.sources.SourcesOf(m.Nick)
			c.tellBridge(bs.pid, m, &bridge.UpdateEndpoint{Endpoint: m.Nick, Sources: &all})
		}
	}
}
