package session

import (
	"errors"
	"fmt"
	"strconv"
	"time"

	"focal/xmpp"
)

// XEP-0198 Stream Management on client streams.
//
// The server counts the stanzas it sends after <enabled/> (and keeps them
// until the client acknowledges them); the client counts the ones it
// receives, answers each <r/> with <a h='count'/>, and does the same for its
// own stanzas. When the connection dies without </stream:stream>, Prosody
// keeps the session (its resource, presence and MUC occupancy) for
// smacks_hibernation_time, queueing what it would send, and any process that
// logs in as the same user can take it over with <resume previd h/> in place
// of binding a resource. The h it gives must lie between the last h it
// acknowledged and the number of stanzas the server sent: anything else,
// like a resumption after the hibernation time or with more than
// smacks_max_queue_size stanzas queued, destroys the session (see
// ../../deploy/prosody/prosody.cfg.lua.in).

// nsSM is the namespace of XEP-0198 version 3.
const nsSM = "urn:xmpp:sm:3"

// SMState is what resuming a client stream's session takes: enough for
// another Session, in this process or another, to continue it.
type SMState struct {
	// ID is the server's resumption id (previd); empty when there is nothing
	// to resume (stream management off, not granted, or the session ended).
	ID string
	// Location is where the server would rather be reconnected to for a
	// resumption (<enabled location/>); empty means the usual address. It is
	// reported, not used: Prosody does not send one.
	Location string
	// JID is the session's full JID. A resumed session keeps it: resumption
	// binds nothing.
	JID string
	// InboundH counts the stanzas received on the session and handed to the
	// Handler (or to a Request callback), from its start, across resumptions.
	InboundH uint32
	// Max is how long the server keeps the session after its connection
	// dies (<enabled max/>, Prosody's smacks_hibernation_time; about a second
	// more in practice).
	Max time.Duration
}

// StreamManagement turns on XEP-0198 for a client stream (Config). The
// Dialer must be a ClientDialer, or wrap one: resumption happens inside its
// negotiation, in place of binding.
type StreamManagement struct {
	// Resume, when its ID is set, makes the first connection resume that
	// session instead of binding a new one: typically one another process
	// established, handed over with the states it passed to its OnState.
	// The session's address is Resume.JID, or the ClientOptions JID when that
	// is empty.
	Resume SMState
	// OnState is called with the resumption state each time it changes in a
	// way a resumption depends on: when the server enables stream management
	// (a new ID; the Session then owns a new server session, whose rooms it
	// has not joined), when a session is resumed (same ID), when it ends for
	// good (empty ID), and when InboundH has grown, before the <a/> that
	// acknowledges it.
	//
	// Ordering guarantee: every <a h='N'/> this Session writes is preceded
	// by an OnState call with InboundH = N that has returned. So a copy of
	// the last state given to OnState is always one the server accepts for
	// resumption (its h is at least the last h acknowledged); stanzas
	// received after that state are sent again to whoever resumes from it
	// (at-least-once delivery).
	//
	// A new stream is reported up (Config.State, WaitUp) only after
	// OnState has had its ID, so whatever is done once the stream is up
	// (joining rooms) is done on a session that can be resumed. (Send works
	// from the moment <enable/> is written, and a stanza that arrives before
	// the server's answer reaches the Handler before the stream is reported
	// up.)
	//
	// It runs on the stream's read loop (or on Run's goroutine), never
	// concurrently with itself. It may block while it ships the state to a
	// replica, at the cost of holding up reading.
	OnState func(SMState)
	// MayResume, if set, is asked before each attempt to resume a session
	// (including Resume). Returning false makes Run return with
	// ErrResumeDeclined instead, without reconnecting: a node that may have
	// lost its session to another process must not take it back (that
	// process has acknowledged more than it has, so the server would destroy
	// the session) nor bind the same resource (which evicts the session).
	MayResume func(SMState) bool
	// OnResumeFailed is told when the server refused a resumption (err is a
	// *ResumeError): the session is gone, and with it the occupant in every
	// room it had joined. After it returns, Run binds a new session on its
	// next attempt; cancelling Run's context in it stops Run instead.
	OnResumeFailed func(err error)
	// AckRequestDelay paces this client's own ack requests (<r/>): one
	// goes out once a written stanza has waited this long unacknowledged,
	// or at once when AckRequestEvery stanzas are (if AckRequestEvery > 0).
	// Zero asks after every write, as soon as no request is out: during
	// a burst that is an <r/> and the server's <a/> (and often its own
	// <r/> and our <a/>) per round trip, all through the server's CPU.
	// The acks let the Session forget the stanzas it would send again
	// after resuming on a new connection, and tell Detach that the server
	// has read everything (it asks at once, paced or not); pacing them
	// keeps more in memory, never delays a stanza, and changes nothing the
	// server counts.
	AckRequestDelay time.Duration
	AckRequestEvery int
	// HoldLimit bounds how long a held stanza (SendHeld) waits to be let
	// go before the Session writes it anyway, with a warning: a holder that
	// never lets go must not stop the session. Zero means DefaultHoldLimit
	// (10 s).
	HoldLimit time.Duration
}

// Errors that make Run return on its own (see Session.Err).
var (
	// ErrReplaced: the server ended the stream because another connection
	// bound the same resource (Prosody's default conflict_resolve, kick_old).
	// Reconnecting would evict that connection in turn, so Run stops.
	ErrReplaced = errors.New("xmpp stream replaced by another connection to the same resource")
	// ErrResumeDeclined: StreamManagement.MayResume returned false.
	ErrResumeDeclined = errors.New("xmpp session resumption declined")
	// ErrResumeFailed matches every *ResumeError.
	ErrResumeFailed = errors.New("xmpp session resumption refused")
)

// ResumeError is the server's refusal of a resumption. Prosody 0.12 answers
// an unknown or expired previd with <failed><item-not-found/></failed>; a
// previd it knows but an h outside the range it accepts gets the session
// destroyed and, on the wire, a stream error in place of <failed/>.
type ResumeError struct {
	PrevID    string // the session asked for
	H         uint32 // the h offered
	Condition string // e.g. item-not-found, unexpected-request, or the stream error's condition
	Text      string
	// ServerH is the number of stanzas the server says it handled, when it
	// says (HasServerH).
	ServerH    uint32
	HasServerH bool
	// Stream is true when the answer was a stream error, not <failed/>.
	Stream bool
	// AfterNoAnswer is true when an earlier attempt to resume the same
	// session with the same h got its connection closed without an answer.
	// Prosody 0.12 does that when h is outside the range it accepts, and
	// destroys the session; the next attempt then finds no session.
	AfterNoAnswer bool
}

func (e *ResumeError) Error() string {
	msg := fmt.Sprintf("xmpp session %s not resumed with h=%d: %s", e.PrevID, e.H, e.Condition)
	if e.Stream {
		msg += " (stream error)"
	}
	if e.Text != "" {
		msg += ": " + e.Text
	}
	if e.HasServerH {
		msg += fmt.Sprintf(" (server handled %d)", e.ServerH)
	}
	if e.AfterNoAnswer {
		msg += "; an earlier attempt with this h had its connection closed unanswered," +
			" as Prosody does when h is below its last ack or beyond what it sent"
	}
	return msg
}

// Is makes errors.Is(err, ErrResumeFailed) true.
func (e *ResumeError) Is(target error) bool { return target == ErrResumeFailed }

// failedError reads a <failed/> answer to <resume/>.
func failedError(el *xmpp.Element, st SMState) *ResumeError {
	e := &ResumeError{PrevID: st.ID, H: st.InboundH, Condition: xmpp.UndefinedCondition}
	for _, c := range el.Children {
		switch {
		case c.Name.Space == xmpp.NSStanzas && c.Name.Local == "text":
			e.Text = c.Text
		case c.Name.Space == xmpp.NSStanzas:
			e.Condition = c.Name.Local
		}
	}
	if h, err := parseH(el.AttrValue("h")); err == nil {
		e.ServerH, e.HasServerH = h, true
	}
	return e
}

// smDialKey carries a *smDial in the context the Session gives its Dialer.
type smDialKey struct{}

// smDial asks the client dialer's negotiation to resume a session instead
// of binding, and carries the outcome back.
type smDial struct {
	resume SMState
	// Set by the negotiation when the server resumed the session.
	resumed bool
	serverH uint32 // the server's count of our stanzas it handled
	// Set when <resume/> was written but the connection ended unanswered.
	noAnswer bool
}

// smSession is a Session's stream management bookkeeping. Its fields are
// guarded by the Session's mutex.
type smSession struct {
	cfg StreamManagement

	state     SMState // ID empty: nothing to resume
	reportedH uint32  // InboundH of the last OnState call for this session
	counting  bool    // inbound stanzas count: <enabled/> or <resumed/> seen on this stream
	since     uint32  // InboundH when this stream began counting (the h it resumed with)
	tracking  bool    // outbound stanzas count and are kept until acknowledged
	outH      uint32  // our stanzas of this session written so far, as the server counts them
	lastPos   uint32  // the place of the last stanza queued (outH when none waits)
	// tookOver is the session resumed from another process's state, and the
	// server's count then (see HeldWire.TookOver); set once.
	tookOver Mark
	ackedH   uint32 // the last h the server acknowledged
	unacked  []*xmpp.Element
	// unackedSince is when the oldest of unacked was written (or, after an
	// ack that left some, when the ack came): AckRequestDelay counts from it.
	unackedSince time.Time
	rPending     bool // an <r/> is unanswered
	ackDue       bool // an <a h=ackH/> is to be written
	ackH         uint32
	enabled      chan struct{} // closed when the server answers <enable/>
}

func (m *smSession) report(st SMState) {
	if m.cfg.OnState != nil {
		m.cfg.OnState(st)
	}
}

// resetLocked forgets the counters of a session that is over.
func (m *smSession) resetLocked() {
	m.reportedH = 0
	m.counting, m.tracking = false, false
	m.outH, m.ackedH, m.lastPos = 0, 0, 0
	m.unacked = nil
	m.rPending, m.ackDue = false, false
}

// ackedLocked drops the stanzas the server says it has handled.
func (m *smSession) ackedLocked(h uint32) error {
	if h < m.ackedH || h > m.outH {
		return fmt.Errorf("server acknowledged h=%d, outside [%d, %d]", h, m.ackedH, m.outH)
	}
	n := int(h - m.ackedH)
	if n > len(m.unacked) {
		n = len(m.unacked)
	}
	clear(m.unacked[:n])
	m.unacked = m.unacked[n:]
	m.ackedH = h
	if len(m.unacked) > 0 {
		m.unackedSince = time.Now()
	}
	return nil
}

// resumedLocked continues the session on a new stream after <resumed h/>:
// the stanzas the server did not get are queued again, ahead of those never
// written, and so keep their places in the count. A Session resuming
// another's session has none of them; the server's h only sets where its
// own count starts, and is what it took over.
func (m *smSession) resumedLocked(serverH uint32, queue []outItem) []outItem {
	if m.tookOver.Session == "" && m.cfg.Resume.ID != "" && m.state.ID == m.cfg.Resume.ID && m.outH == 0 && len(m.unacked) == 0 {
		m.tookOver = Mark{Session: m.state.ID, Pos: serverH}
	}
	var resend []*xmpp.Element
	if serverH >= m.ackedH && int(serverH-m.ackedH) <= len(m.unacked) {
		resend = m.unacked[serverH-m.ackedH:]
	} else if serverH < m.ackedH {
		resend = m.unacked // cannot happen with Prosody, which refuses such an h
	}
	items := make([]outItem, 0, len(resend)+len(queue))
	for _, el := range resend {
		items = append(items, outItem{el: el})
	}
	items = append(items, queue...)
	// The places: from the server's count on, as they were.
	pos := serverH
	for i := range items {
		if items[i].el != nil {
			pos++
			items[i].pos = pos
		}
	}
	m.lastPos = pos
	m.unacked = nil
	m.outH, m.ackedH = serverH, serverH
	m.counting, m.tracking = true, true
	m.since = m.state.InboundH
	m.rPending, m.ackDue = false, false
	m.reportedH = m.state.InboundH
	return items
}

func formatH(h uint32) string { return strconv.FormatUint(uint64(h), 10) }

func parseH(s string) (uint32, error) {
	h, err := strconv.ParseUint(s, 10, 32)
	if err != nil {
		return 0, fmt.Errorf("invalid h %q", s)
	}
	return uint32(h), nil
}
