package conference

import (
	"crypto/sha256"
	"slices"
	"sync"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"google.golang.org/protobuf/proto"

	"focal/actors/await"
	"focal/proto"
)

// replicateChanges sends the replica the conference's state if it differs
// from what the replica last got. It runs after every message, so a
// change reaches the replica because it happened, whatever caused it; it
// goes out on the same ordered link to the replica node as everything
// before it. Nothing is sent before the focus is in the room: until then
// there is no session to resume and nothing a participant saw.
//
// Whether the state changed is told by its deterministic encoding, which
// costs a fraction of copying and comparing the messages
// (BenchmarkReplicationCheck), compared by its SHA-256; the encoding is
// also what is sent.
func (c *conference) replicateChanges(ctx actor.Context) {
	if c.standby || c.replica == nil || c.ending || !c.everJoin || c.awaitingFinalAck() {
		return
	}
	buf := encodeBuffers.Get().(*[]byte)
	defer encodeBuffers.Put(buf)
	enc, err := deterministic.MarshalAppend((*buf)[:0], c.stateView())
	*buf = enc[:0]
	if err != nil {
		c.log.Error("encode the replicated state", "err", err)
		return
	}
	sum := sha256.Sum256(enc)
	if c.hasReplicated && sum == c.replicated {
		return
	}
	c.replicated, c.hasReplicated = sum, true
	// The encoding goes as it is, with the envelope appended (its fields
	// are unset in the live state, so the decoded message is the stamped
	// state); a request, so that the replica knows where its StateAck goes.
	envelope, err := proto.Marshal(c.stamp(&focalpb.ConferenceState{}, false))
	if err != nil {
		c.log.Error("encode the state's envelope", "err", err)
		return
	}
	// A copy: enc goes back to the pool.
	ctx.Request(c.replica, &focalpb.EncodedConferenceState{State: append(slices.Clip(enc), envelope...)})
	if c.sentAt == nil {
		c.sentAt = make(map[uint64]time.Time)
	}
	c.sentAt[c.version] = time.Now()
	c.armAcksDue(c.cfg.StaleAck)
}

// A state sent to the replica can be lost on the way: the actor link to
// the replica's node drops what it cannot deliver while it reconnects,
// which took seconds after a partition healed. Every state is sent
// whole, so the next change repairs the replica's copy, but what waits in
// the outbox for the lost state's acknowledgement waits for that change,
// and a conference nobody talks to makes none. So a state not
// acknowledged within StaleAck is sent again; an acknowledgement that late
// would not release anything anyway (onStateAck).

// armAcksDue has acksDue come after d, unless one is on its way.
func (c *conference) armAcksDue(d time.Duration) {
	if c.acksDueArmed || d <= 0 {
		return
	}
	c.acksDueArmed = true
	self, root := c.self, c.root
	time.AfterFunc(d, func() { root.Send(self, acksDue{}) })
}

// onAcksDue sends the state again if a version is unacknowledged for
// StaleAck (Receive replicates it after this message), and looks again
// when the oldest one still waiting will be.
func (c *conference) onAcksDue() {
	c.acksDueArmed = false
	if c.standby || c.handedOver || c.replica == nil || len(c.sentAt) == 0 {
		return
	}
	var oldest time.Time
	for _, at := range c.sentAt {
		if oldest.IsZero() || at.Before(oldest) {
			oldest = at
		}
	}
	if wait := c.cfg.StaleAck - time.Since(oldest); wait > 0 {
		c.armAcksDue(wait)
		return
	}
	c.log.Warn("the replica has not acknowledged the state; sending it again", "after", time.Since(oldest))
	c.hasReplicated = false
}

// encodeBuffers lends replicateChanges a buffer to encode into: one per
// conference running at the time, not one per conference.
var encodeBuffers = sync.Pool{New: func() any { return new([]byte) }}

// deterministic encodes equal states to equal bytes.
var deterministic = proto.MarshalOptions{Deterministic: true}

// stamp puts the envelope on st, a copy of the state that is about to be
// sent: the next version, this node as owner, the time, and whether it is
// the last (final) state this node sends.
func (c *conference) stamp(st *focalpb.ConferenceState, final bool) *focalpb.ConferenceState {
	c.version++
	st.Version, st.Owner, st.Final, st.SentUnixMs = c.version, c.cfg.Node, final, time.Now().UnixMilli()
	return st
}

// childBarrierTimeout bounds one wait for a participant or colibri session.
// One that does not answer in time makes the barrier go unanswered, and the
// session asks again (a stopped one answers at once, as a dead letter).
const childBarrierTimeout = time.Second

// onBarrier answers a session's barrier once the participants and colibri
// sessions have handled what reached them before it, and this conference
// what they sent it meanwhile (their messages come before their answers,
// and barrierDone after those): by then every resulting state is on its
// way to the replica, ahead of the answer. If one of them did not answer
// in time, neither does the conference: what it was sent may not be
// replicated yet, and the session must not acknowledge it to the server
// (its successor would resume past a request nobody knows of).
func (c *conference) onBarrier(ctx actor.Context, b *Barrier) {
	to := ctx.Sender()
	if to == nil || c.handing != nil {
		// Handing over: what reached the node for the room meanwhile
		// goes to the new owner after the final state, and is not to be
		// acknowledged before (handover.go).
		return
	}
	self, root, sent := ctx.Self(), ctx.ActorSystem().Root, c.bridgeSent
	await.AllAnswered(c.childBarriers(ctx, childBarrierTimeout), func(answered bool) {
		if answered {
			root.Send(self, barrierDone{reply: func() { root.Send(to, b) }, bridgeSent: sent})
		}
	})
}

// childBarriers asks every participant and colibri session for a barrier
// (await.Barrier), each answered once it has handled, and reported, what
// reached it before, within wait.
func (c *conference) childBarriers(ctx actor.Context, wait time.Duration) []*actor.Future {
	var futures []*actor.Future
	for _, m := range c.members {
		if m.pid != nil {
			futures = append(futures, ctx.RequestFuture(m.pid, &await.Barrier{}, wait))
		}
	}
	for _, bs := range c.bridges {
		futures = append(futures, ctx.RequestFuture(bs.pid, &await.Barrier{}, wait))
	}
	return futures
}
