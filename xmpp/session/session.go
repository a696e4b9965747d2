package session

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	mxmpp "mellium.im/xmpp"

	"focal/xmpp"
)

// Errors a request can fail with besides a StanzaError from the peer.
var (
	ErrNotConnected = errors.New("xmpp stream not connected")
	ErrTimeout      = errors.New("xmpp request timed out")
	ErrDisconnected = errors.New("xmpp stream lost before the response")
	ErrClosed       = errors.New("xmpp session closed")
)

// nsStreams is the namespace of stream-level elements such as stream errors.
const nsStreams = "http://etherx.jabber.org/streams"

// Handler receives every stanza that is not the response to a request made
// with Request. It runs on the stream's read loop and must not block: hand the
// stanza to an actor and return.
type Handler func(stanza *xmpp.Element)

// StateFunc is told each time the stream comes up (with its bound address)
// or goes down. It must not block either.
type StateFunc func(up bool, addr string)

// Config of a Session.
type Config struct {
	Name    string // for logs, e.g. "component" or "client"
	Dial    Dialer
	Handler Handler
	State   StateFunc
	Logger  *slog.Logger
	// Backoff between attempts grows from MinBackoff to MaxBackoff.
	MinBackoff, MaxBackoff time.Duration
	// WriteTimeout bounds one stanza write.
	WriteTimeout time.Duration
	Limits       xmpp.Limits
	// IDPrefix begins the id of every request sent without one. A session
	// that moves between processes (resumed by another) keeps its address:
	// the prefix tells its peers, and their logs, which process asked.
	IDPrefix string
	// StreamManagement turns on XEP-0198 (client streams only); nil leaves
	// it off. With it, a connection lost without </stream:stream> is
	// resumed on the next attempt: the session keeps its address and rooms,
	// stanzas queued or awaiting a response are kept for the new connection
	// and those the server did not receive are sent again.
	StreamManagement *StreamManagement
}

// ResponseFunc receives the response to a request: the result stanza, or an
// error (a xmpp.StanzaError for an error response, ErrTimeout, ...). It runs on
// the read loop or a timer and must not block.
type ResponseFunc func(result *xmpp.Element, err error)

// Session is one logical XMPP stream that survives reconnects. Its methods are
// safe for concurrent use.
type Session struct {
	cfg Config
	log *slog.Logger

	mu      sync.Mutex
	stream  *mxmpp.Session // nil while down
	ns      string
	addr    string
	up      chan struct{} // closed while up; replaced when it goes down
	isUp    bool          // up is closed
	pending map[string]*pendingRequest
	queue   []outItem
	wake    chan struct{}
	closed  bool
	sm      *smSession // nil without StreamManagement
	stopErr error      // why Run returned on its own
	detach  bool       // Detach asked Run to return without ending the session
	holdAck bool       // HoldAcks: no <a/> is written
	cancel  context.CancelFunc

	// writeMu is held while writing to a stream, so that serve knows when
	// the writer is done with a dead one.
	writeMu sync.Mutex
	// cutting tells the writer to stop at the next stanza boundary: the
	// connection is about to be cut (see cutBetweenStanzas).
	cutting atomic.Bool

	done chan struct{}
}

// outItem is a stanza to write, or a flush marker the writer answers once
// everything queued before it is written.
type outItem struct {
	el *xmpp.Element
	// pos is the stanza's place in the server's count (Mark), 0 when it
	// is not counted; held: not to be written before Let (since heldAt).
	pos    uint32
	held   bool
	heldAt time.Time
	// flushed marks a Flush.
	flushed *flushMark
}

// flushMark is a Flush waiting: done is closed once what was queued before
// it is written, or held (then held is set first).
type flushMark struct {
	done chan struct{}
	held bool
}

type pendingRequest struct {
	to    string
	cb    ResponseFunc
	timer *time.Timer
}

// New returns a session; Run connects it.
func New(cfg Config) *Session {
	if cfg.MinBackoff <= 0 {
		cfg.MinBackoff = 100 * time.Millisecond
	}
	if cfg.MaxBackoff <= 0 {
		cfg.MaxBackoff = 5 * time.Second
	}
	if cfg.WriteTimeout <= 0 {
		cfg.WriteTimeout = 10 * time.Second
	}
	if cfg.Limits == (xmpp.Limits{}) {
		cfg.Limits = xmpp.DefaultLimits
	}
	if cfg.Handler == nil {
		cfg.Handler = func(*xmpp.Element) {}
	}
	if cfg.State == nil {
		cfg.State = func(bool, string) {}
	}
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	s := &Session{
		cfg:     cfg,
		log:     log.With("stream", cfg.Name),
		up:      make(chan struct{}),
		pending: make(map[string]*pendingRequest),
		wake:    make(chan struct{}, 1),
		done:    make(chan struct{}),
	}
	if cfg.StreamManagement != nil {
		s.sm = &smSession{cfg: *cfg.StreamManagement, state: cfg.StreamManagement.Resume}
	}
	return s
}

// Run keeps the stream up until ctx is cancelled, then closes it cleanly and
// returns. Call it once. It also returns on its own, without reconnecting,
// when going on would harm another connection (see Err).
func (s *Session) Run(ctx context.Context) {
	defer close(s.done)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	s.mu.Lock()
	s.cancel = cancel
	s.mu.Unlock()
	writerDone := make(chan struct{})
	go func() {
		defer close(writerDone)
		s.writeLoop(ctx)
	}()
	backoff := s.cfg.MinBackoff
	var unanswered *SMState // the last resumption attempt that got no answer
	for ctx.Err() == nil {
		dialCtx, dial, err := s.prepareDial(ctx)
		if err != nil {
			s.stop(err)
			break
		}
		stream, ns, err := s.cfg.Dial(dialCtx)
		if err != nil {
			if ctx.Err() != nil {
				break
			}
			var re *ResumeError
			if errors.As(err, &re) && unanswered != nil && unanswered.ID == re.PrevID && unanswered.InboundH == re.H {
				re.AfterNoAnswer = true
			}
			unanswered = nil
			if dial != nil && dial.noAnswer {
				unanswered = &dial.resume
			}
			if re != nil {
				// Definite: binding a new session at once is the best left.
				// (The wrapping error's text was fixed before the note above.)
				s.log.Error("xmpp session lost: resumption refused", "err", re)
				s.loseSession(re)
				continue
			}
			s.log.Warn("xmpp connect failed", "err", err, "retry_in", backoff)
			if !sleep(ctx, jitter(backoff)) {
				break
			}
			backoff = min(2*backoff, s.cfg.MaxBackoff)
			continue
		}
		backoff = s.cfg.MinBackoff
		unanswered = nil
		if err := s.serve(ctx, stream, ns, dial); err != nil {
			s.stop(err)
			break
		}
	}
	s.mu.Lock()
	s.closed = true
	dropped := s.queue
	s.queue = nil
	var final *SMState
	if s.detach && s.sm.state.ID != "" && s.sm.state.InboundH != s.sm.reportedH {
		s.sm.reportedH = s.sm.state.InboundH
		st := s.sm.state
		final = &st
	}
	s.mu.Unlock()
	releaseFlushes(dropped)
	s.wakeWriter()
	<-writerDone
	s.failPending(ErrClosed)
	if final != nil {
		s.sm.report(*final) // Detach: the state to resume from
	}
}

// Done is closed when Run has returned.
func (s *Session) Done() <-chan struct{} { return s.done }

// Err says why Run returned on its own: ErrReplaced or ErrResumeDeclined
// (wrapped). It is nil while Run runs and after Run returned because its
// context ended or Detach was called.
func (s *Session) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stopErr
}

// Detach makes Run return without ending the XMPP session: the connection
// is cut as a crash would cut it, so the server keeps the session for its
// hibernation time, for another Session to resume from the returned state
// (which OnState also gets). Stanzas queued but not yet written are dropped.
// It needs StreamManagement. ctx bounds the wait for the server to
// acknowledge what was written (see drain); the connection is cut when it
// ends, and the state is returned all the same once Run has returned. The
// state's ID is empty when there was nothing to resume.
func (s *Session) Detach(ctx context.Context) (SMState, error) {
	s.mu.Lock()
	if s.sm == nil {
		s.mu.Unlock()
		return SMState{}, errors.New("xmpp session: Detach needs StreamManagement")
	}
	cancel := s.cancel
	if cancel == nil {
		s.mu.Unlock()
		return SMState{}, errors.New("xmpp session: Detach before Run")
	}
	s.detach = true
	s.mu.Unlock()
	s.drain(ctx)
	cancel()
	// Cut: the server keeps the session for whoever resumes it from the
	// state returned, whatever ctx says now. Run returns as soon as its
	// reader stops, after which the count no longer moves.
	select {
	case <-s.done:
	case <-time.After(detachRunWait):
		return SMState{}, errors.New("xmpp session: Run did not return after Detach cut the connection")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sm.state, nil
}

// detachRunWait bounds how long Detach waits for Run to return once the
// connection is cut.
const detachRunWait = 5 * time.Second

// HoldAcks stops (hold true) or resumes answering the server's <r/> with
// <a/>. A session whose resumption state may not have reached the process
// that would resume it holds them: the server then never learns an h that
// process does not have. Stanzas keep flowing both ways meanwhile; the
// server just keeps more of them queued.
func (s *Session) HoldAcks(hold bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.holdAck = hold
	if hold && s.sm != nil {
		s.sm.ackDue = false
	}
}

func (s *Session) stop(err error) {
	s.log.Error("xmpp session stopped", "err", err)
	s.mu.Lock()
	s.stopErr = err
	s.mu.Unlock()
}

// prepareDial returns the context to dial with: one asking for a resumption
// when there is a session to resume.
func (s *Session) prepareDial(ctx context.Context) (context.Context, *smDial, error) {
	if s.sm == nil {
		return ctx, nil, nil
	}
	s.mu.Lock()
	st := s.sm.state
	s.mu.Unlock()
	if st.ID == "" {
		return ctx, nil, nil
	}
	if may := s.sm.cfg.MayResume; may != nil && !may(st) {
		return nil, nil, fmt.Errorf("%w: session %s", ErrResumeDeclined, st.ID)
	}
	d := &smDial{resume: st}
	return context.WithValue(ctx, smDialKey{}, d), d, nil
}

// loseSession gives up a session that cannot be resumed any more: what was
// kept for it is dropped, and the caller is told.
func (s *Session) loseSession(err error) {
	s.mu.Lock()
	dropped := s.queue
	s.queue = nil
	s.sm.state = SMState{}
	s.sm.resetLocked()
	s.mu.Unlock()
	releaseFlushes(dropped)
	s.failPending(ErrDisconnected)
	s.sm.report(SMState{})
	if s.sm.cfg.OnResumeFailed != nil {
		s.sm.cfg.OnResumeFailed(err)
	}
}

// serve runs one connected stream until it fails or ctx ends. It returns an
// error only when Run must not reconnect.
func (s *Session) serve(ctx context.Context, stream *mxmpp.Session, ns string, dial *smDial) error {
	addr := stream.LocalAddr().String()
	var resumed *SMState
	var enabled chan struct{}
	s.mu.Lock()
	if s.sm != nil {
		if dial != nil && dial.resumed {
			s.sm.state.JID = addr
			s.queue = s.sm.resumedLocked(dial.serverH, s.queue)
			st := s.sm.state
			resumed = &st
		} else {
			s.sm.resetLocked()
			if _, offered := stream.Feature(nsSM); offered {
				s.sm.tracking = true
				enabled = make(chan struct{})
				s.sm.enabled = enabled
			}
		}
	}
	s.mu.Unlock()
	if resumed != nil {
		s.log.Info("xmpp session resumed", "id", resumed.ID, "h", resumed.InboundH, "server_h", dial.serverH)
		s.sm.report(*resumed)
	}
	if enabled != nil {
		// Before any stanza: the server counts those written after it.
		enable := xmpp.NewElement(nsSM, "enable", "resume", "true")
		if err := s.writeElement(stream, enable); err != nil {
			s.log.Warn("xmpp stream lost before enabling stream management", "err", err)
			_ = stream.Conn().Close()
			return nil
		}
	}

	s.mu.Lock()
	s.stream, s.ns, s.addr = stream, ns, addr
	s.mu.Unlock()
	s.wakeWriter()
	readErr := make(chan error, 1)
	reading := false
	startReading := func() {
		reading = true
		go func() { readErr <- s.readLoop(stream, ns) }()
	}

	var err error
	if enabled != nil {
		// Stanzas can be sent from here on, but the stream is reported up
		// only once the server has answered <enable/>, so that OnState knows
		// the session before anything that would need resuming (a room
		// join). Reading starts now, to get that answer.
		startReading()
		timer := time.NewTimer(s.cfg.WriteTimeout)
		select {
		case <-enabled:
		case err = <-readErr:
		case <-ctx.Done():
		case <-timer.C:
			s.log.Warn("xmpp stream management: no answer to <enable/>; going on")
		}
		timer.Stop()
	}
	up := err == nil && ctx.Err() == nil
	if up {
		s.mu.Lock()
		close(s.up)
		s.isUp = true
		s.mu.Unlock()
		s.log.Info("xmpp stream up", "addr", addr)
		s.cfg.State(true, addr)
		if enabled == nil {
			startReading() // the Handler hears of nothing before State does
		}
		select {
		case err = <-readErr:
		case <-ctx.Done():
		}
	}
	clean := false
	if err == nil {
		// ctx ended while the stream was alive.
		s.mu.Lock()
		detach := s.detach
		s.mu.Unlock()
		s.cutBetweenStanzas(stream, func() {
			if !detach {
				// A clean </stream:stream> makes the server end the session
				// at once, so the MUC sees the focus leave instead of a
				// timeout.
				clean = stream.Close() == nil
			}
		})
		if reading {
			err = <-readErr
		} else {
			err = ctx.Err()
		}
	}
	_ = stream.Conn().Close()
	// The writer may be in the middle of a write to this stream; the closed
	// connection fails it at once.
	s.writeMu.Lock()
	s.writeMu.Unlock() //nolint:staticcheck // an empty critical section: waiting is the point

	var stopErr error
	if cond, text, ok := streamErrorOf(err); ok && cond == "conflict" {
		stopErr = fmt.Errorf("%w: %s", ErrReplaced, text)
	}

	s.mu.Lock()
	s.stream = nil
	if s.isUp {
		s.up = make(chan struct{})
		s.isUp = false
	}
	// A session the server keeps (hibernating) goes on after a resumption:
	// keep what it still needs. A clean close or an eviction ends it.
	keep := s.sm != nil && s.sm.state.ID != "" && !clean && stopErr == nil
	var dropped []outItem
	if !keep {
		dropped = s.queue // stanzas for a dead stream would be stale after a reconnect
		s.queue = nil
	}
	ended := false
	if s.sm != nil {
		s.sm.counting, s.sm.rPending, s.sm.ackDue = false, false, false
		s.sm.enabled = nil
		if !keep && s.sm.state.ID != "" {
			s.sm.state = SMState{}
			s.sm.resetLocked()
			ended = true
		}
	}
	s.mu.Unlock()
	releaseFlushes(dropped)
	if !keep {
		s.failPending(ErrDisconnected)
	}
	if ended {
		s.sm.report(SMState{})
	}
	if ctx.Err() == nil {
		s.log.Warn("xmpp stream down", "err", err, "resumable", keep)
	}
	if up {
		s.cfg.State(false, "")
	}
	return stopErr
}

// detachAckWait bounds how long Detach waits for the server to acknowledge
// what was written (see drain): a server that does not answer within it
// gets the connection cut anyway.
const detachAckWait = 2 * time.Second

// drain stops the writer at the next stanza boundary and waits, within
// detachAckWait, until the server has acknowledged every stanza written:
// it has then read and parsed everything this connection sent, and its
// parser is between two stanzas when the connection goes. Cutting the
// connection earlier, even between stanzas, can leave the server with
// unread data, a stanza it had begun to parse and never finishes; and
// Prosody (0.12) goes on feeding the connection that resumes the session
// to that parser: the resumer's first stanzas were then refused as
// not-well-formed and the session ended, which the outbound partition
// test showed (the focus left its rooms).
func (s *Session) drain(ctx context.Context) {
	s.cutting.Store(true)
	s.wakeWriter()
	deadline := time.NewTimer(detachAckWait)
	defer deadline.Stop()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for {
		s.mu.Lock()
		done := s.stream == nil || s.sm == nil || !s.sm.tracking || len(s.sm.unacked) == 0
		s.mu.Unlock()
		if done {
			return
		}
		select {
		case <-tick.C:
		case <-deadline.C:
			s.log.Warn("xmpp detach: the server has not acknowledged everything written; cutting anyway")
			return
		case <-ctx.Done():
			return
		}
	}
}

// cutBetweenStanzas closes the connection of a stream that is alive, after
// last (the closing tag, if any), never in the middle of a stanza (see
// drain): it stops the writer at the next stanza boundary and waits for
// it, at most one stanza's WriteTimeout.
func (s *Session) cutBetweenStanzas(stream *mxmpp.Session, last func()) {
	s.cutting.Store(true)
	s.writeMu.Lock()
	last()
	_ = stream.Conn().Close()
	s.writeMu.Unlock()
}

func (s *Session) readLoop(stream *mxmpp.Session, ns string) error {
	r := stream.TokenReader()
	defer r.Close()
	for {
		tok, err := r.Token()
		if err != nil {
			if err == io.EOF {
				return errors.New("stream closed by server")
			}
			return err
		}
		start, ok := tok.(xml.StartElement)
		if !ok {
			continue // whitespace keepalives
		}
		if start.Name.Space == nsSM {
			el, err := xmpp.ReadElement(r, start, s.cfg.Limits)
			if err != nil {
				return err
			}
			if err := s.handleSM(el); err != nil {
				return err
			}
			continue
		}
		el, err := xmpp.ReadElement(r, start, s.cfg.Limits)
		if errors.Is(err, xmpp.ErrTooLarge) {
			s.rejectTooLarge(start)
			s.counted(start.Name.Space == ns)
			continue
		}
		if err != nil {
			return err
		}
		if el.Name.Space == nsStreams && el.Name.Local == "error" {
			return fmt.Errorf("stream error: %s", streamErrorText(el))
		}
		// The server counts every top-level element in the stream's
		// namespace: iq, message and presence.
		inStream := el.Name.Space == ns
		xmpp.StripStreamNamespace(el, ns)
		if xmpp.IsStanza(el) && !s.deliverResponse(el) {
			s.cfg.Handler(el)
		}
		s.counted(inStream)
	}
}

// Position tells the Handler where the stanza it is handling stands in the
// server session's count of the stanzas it sent: the session's resumption
// id, the stanza's position (1 for the first), and the count this stream
// began from (the h it resumed with, 0 for a new session). The server sent
// this stream every position above since, and sends each again to whoever
// resumes the session with a lower h: a node that is passed a stanza it
// got itself that way knows it is a copy. All zero without stream
// management; meaningful only inside the Handler, where the count does not
// move.
func (s *Session) Position() (id string, pos, since uint32) {
	if s.sm == nil {
		return "", 0, 0
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.sm.counting || s.sm.state.ID == "" {
		return "", 0, 0
	}
	return s.sm.state.ID, s.sm.state.InboundH + 1, s.sm.since
}

// counted counts a stanza received, once it has been handled.
func (s *Session) counted(stanza bool) {
	if s.sm == nil || !stanza {
		return
	}
	s.mu.Lock()
	if s.sm.counting {
		s.sm.state.InboundH++
	}
	s.mu.Unlock()
}

// handleSM handles a stream management element on the read loop.
func (s *Session) handleSM(el *xmpp.Element) error {
	if s.sm == nil {
		s.log.Debug("stream management element on a stream without it", "el", el.Name.Local)
		return nil
	}
	switch el.Name.Local {
	case "enabled":
		s.mu.Lock()
		if !s.sm.tracking || s.sm.counting {
			s.mu.Unlock()
			return nil
		}
		s.sm.counting = true
		s.sm.since = 0
		id := el.AttrValue("id")
		if res := el.AttrValue("resume"); res != "true" && res != "1" {
			id = "" // enabled, but not resumable
		}
		var maxAge time.Duration
		if secs, err := strconv.ParseUint(el.AttrValue("max"), 10, 32); err == nil {
			maxAge = time.Duration(secs) * time.Second
		}
		s.sm.state = SMState{ID: id, Location: el.AttrValue("location"), JID: s.addr, Max: maxAge}
		s.sm.reportedH = 0
		st := s.sm.state
		enabled := s.sm.enabled
		s.sm.enabled = nil
		s.mu.Unlock()
		if id == "" {
			s.log.Warn("xmpp stream management enabled without resumption")
		} else {
			s.log.Info("xmpp stream management enabled", "id", id, "max", maxAge)
		}
		s.sm.report(st)
		if enabled != nil {
			close(enabled) // after OnState: the stream is reported up next
		}
	case "failed":
		// The answer to <enable/>: the stream goes on without.
		s.mu.Lock()
		s.sm.resetLocked()
		ended := s.sm.state.ID != ""
		s.sm.state = SMState{}
		enabled := s.sm.enabled
		s.sm.enabled = nil
		s.mu.Unlock()
		s.log.Warn("xmpp stream management refused", "answer", el.String())
		if ended {
			s.sm.report(SMState{})
		}
		if enabled != nil {
			close(enabled)
		}
	case "r":
		s.mu.Lock()
		if !s.sm.counting {
			s.mu.Unlock()
			return nil
		}
		st := s.sm.state
		changed := st.InboundH != s.sm.reportedH
		s.sm.reportedH = st.InboundH
		s.mu.Unlock()
		if changed {
			s.sm.report(st) // before the <a/> below: see StreamManagement.OnState
		}
		s.mu.Lock()
		if !s.holdAck {
			s.sm.ackDue, s.sm.ackH = true, st.InboundH
			s.wakeWriterLocked()
		}
		s.mu.Unlock()
	case "a":
		h, err := parseH(el.AttrValue("h"))
		if err != nil {
			return fmt.Errorf("stream management: <a/> with %w", err)
		}
		s.mu.Lock()
		if !s.sm.tracking {
			s.mu.Unlock()
			return nil
		}
		err = s.sm.ackedLocked(h)
		s.sm.rPending = false
		s.wakeWriterLocked() // to ask again if more are unacknowledged
		s.mu.Unlock()
		if err != nil {
			// Our count and the server's differ: a resumption from here
			// would fail. Nothing to repair; say so.
			s.log.Error("xmpp stream management out of step", "err", err)
		}
	default:
		s.log.Debug("unexpected stream management element", "el", el.String())
	}
	return nil
}

func streamErrorText(el *xmpp.Element) string {
	var parts []string
	for _, c := range el.Children {
		if c.Text != "" {
			parts = append(parts, c.Name.Local+": "+c.Text)
		} else {
			parts = append(parts, c.Name.Local)
		}
	}
	return strings.Join(parts, ", ")
}

// rejectTooLarge answers an oversized IQ request with an error, built from
// the attributes of its start tag (the body was skipped).
func (s *Session) rejectTooLarge(start xml.StartElement) {
	req := &xmpp.Element{Name: start.Name, Attr: start.Attr}
	s.log.Warn("oversized stanza dropped", "kind", start.Name.Local, "from", req.AttrValue("from"))
	if xmpp.IsIQRequest(req) {
		_ = s.Send(xmpp.ErrorFor(req, xmpp.NewStanzaError(xmpp.NotAcceptable, "stanza exceeds size limits")))
	}
}

// deliverResponse hands an IQ result or error to the request waiting for it.
// A response from another address than the request went to is not a
// response (it would let any peer answer for another).
func (s *Session) deliverResponse(el *xmpp.Element) bool {
	if el.Name.Local != xmpp.KindIQ {
		return false
	}
	typ := el.AttrValue("type")
	if typ != xmpp.IQResult && typ != xmpp.IQError {
		return false
	}
	id := el.AttrValue("id")
	s.mu.Lock()
	p, ok := s.pending[id]
	if ok && !sameAddr(p.to, el.AttrValue("from"), s.addr) {
		ok = false
	}
	if ok {
		delete(s.pending, id)
	}
	s.mu.Unlock()
	if !ok {
		return false
	}
	p.timer.Stop()
	if se, isErr := xmpp.ErrorOf(el); isErr {
		p.cb(el, se)
	} else {
		p.cb(el, nil)
	}
	return true
}

// sameAddr compares the address a request went to with the one its response
// came from. A request without 'to' goes to the account, whose server answers
// from the bare JID, the domain, or not at all.
func sameAddr(to, from, self string) bool {
	if strings.EqualFold(to, from) {
		return true
	}
	if to == "" {
		bare, _, _ := strings.Cut(self, "/")
		_, domain, _ := strings.Cut(bare, "@")
		return from == "" || strings.EqualFold(from, bare) || strings.EqualFold(from, domain)
	}
	return false
}

// Send queues a stanza for the current stream and returns at once. It fails
// only when the stream is down: stanzas are never held across a reconnect,
// because what to resend after one is the caller's decision (a conference
// re-joins its room, it does not replay old presences). The exception is a
// resumption (StreamManagement), which is no new session: what was queued
// before the connection was lost is written after the session is resumed,
// and dropped if it cannot be.
func (s *Session) Send(stanza *xmpp.Element) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.queueableLocked(false); err != nil {
		return err
	}
	s.enqueueLocked(stanza, false)
	return nil
}

// Flush waits until every stanza queued so far is written, e.g. the leave
// presences of a node shutting down. A held stanza among them (SendHeld)
// ends the wait at once with ErrHeld: nothing after it is written before
// it is let go.
func (s *Session) Flush(ctx context.Context) error {
	mark := &flushMark{done: make(chan struct{})}
	s.mu.Lock()
	if s.closed || s.stream == nil {
		s.mu.Unlock()
		return ErrNotConnected
	}
	s.queue = append(s.queue, outItem{flushed: mark})
	s.wakeWriterLocked()
	s.mu.Unlock()
	select {
	case <-mark.done:
		if mark.held {
			return ErrHeld
		}
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Request sends an IQ get or set and calls cb exactly once with its response,
// ErrTimeout after timeout, or a connection error.
func (s *Session) Request(iq *xmpp.Element, timeout time.Duration, cb ResponseFunc) {
	s.request(iq, timeout, cb, false)
}

// request queues an IQ request; held (RequestHeld), it fails instead of
// calling cb when the IQ cannot be queued held.
func (s *Session) request(iq *xmpp.Element, timeout time.Duration, cb ResponseFunc, hold bool) (Mark, error) {
	id := iq.AttrValue("id")
	if id == "" {
		id = s.cfg.IDPrefix + xmpp.NewID()
		iq.SetAttr("id", id)
	}
	s.mu.Lock()
	if err := s.queueableLocked(hold); err != nil {
		s.mu.Unlock()
		if !hold {
			cb(nil, err)
		}
		return Mark{}, err
	}
	p := &pendingRequest{to: iq.AttrValue("to"), cb: cb}
	p.timer = time.AfterFunc(timeout, func() {
		s.mu.Lock()
		cur, ok := s.pending[id]
		if ok && cur == p {
			delete(s.pending, id)
		}
		s.mu.Unlock()
		if ok && cur == p {
			cb(nil, ErrTimeout)
		}
	})
	s.pending[id] = p
	m := s.enqueueLocked(iq, hold)
	s.mu.Unlock()
	return m, nil
}

// RequestWait is Request for callers that may block (tests, tools, HTTP).
func (s *Session) RequestWait(ctx context.Context, iq *xmpp.Element) (*xmpp.Element, error) {
	timeout := 15 * time.Second
	if dl, ok := ctx.Deadline(); ok {
		timeout = time.Until(dl)
	}
	type answer struct {
		el  *xmpp.Element
		err error
	}
	ch := make(chan answer, 1)
	s.Request(iq, timeout, func(el *xmpp.Element, err error) { ch <- answer{el, err} })
	select {
	case a := <-ch:
		return a.el, a.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// WaitUp blocks until the stream is up or ctx ends.
func (s *Session) WaitUp(ctx context.Context) error {
	s.mu.Lock()
	up := s.up
	s.mu.Unlock()
	select {
	case <-up:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Up reports whether the stream is connected, and its bound address.
func (s *Session) Up() (bool, string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.isUp, s.addr
}

// Addr is the address the stream was last bound to (the full JID of a client
// stream, the domain of a component).
func (s *Session) Addr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addr
}

func (s *Session) failPending(err error) {
	s.mu.Lock()
	pending := s.pending
	s.pending = make(map[string]*pendingRequest)
	s.mu.Unlock()
	for _, p := range pending {
		p.timer.Stop()
		p.cb(nil, err)
	}
}

func (s *Session) wakeWriter() {
	s.mu.Lock()
	s.wakeWriterLocked()
	s.mu.Unlock()
}

func (s *Session) wakeWriterLocked() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// writeLoop is the only writer of the stream, so a slow socket delays the
// queue, never the actors that queued.
func (s *Session) writeLoop(ctx context.Context) {
	var broken *mxmpp.Session // a stream a write failed on; serve will drop it
	// askTimer wakes the loop when a paced ack request is due (Go 1.23
	// timers: a stopped or reset timer delivers nothing stale).
	askTimer := time.NewTimer(time.Hour)
	askTimer.Stop()
	defer askTimer.Stop()
	// heldTimer wakes it when a held stanza reaches its limit.
	heldTimer := time.NewTimer(time.Hour)
	heldTimer.Stop()
	defer heldTimer.Stop()
	for {
		s.mu.Lock()
		stream, closed := s.stream, s.closed
		var batch []outItem
		var ack *xmpp.Element
		var heldWait time.Duration
		if stream != nil && stream != broken {
			if !s.cutting.Load() {
				batch, heldWait = s.writableLocked()
			}
			if s.sm != nil && s.sm.ackDue {
				s.sm.ackDue = false
				ack = xmpp.NewElement(nsSM, "a", "h", formatH(s.sm.ackH))
			}
		}
		s.mu.Unlock()
		if closed {
			return
		}
		if len(batch) > 0 || ack != nil {
			if !s.writeBatch(stream, ack, batch) {
				broken = stream
			}
			continue
		}
		wrote, askIn := s.requestAck(stream, broken)
		if wrote {
			continue
		}
		var askLater, heldLater <-chan time.Time
		if askIn > 0 {
			askTimer.Reset(askIn)
			askLater = askTimer.C
		}
		if heldWait > 0 {
			heldTimer.Reset(heldWait)
			heldLater = heldTimer.C
		}
		select {
		case <-askLater:
		case <-heldLater:
		case <-s.wake:
		case <-ctx.Done():
			// Run closes the stream and then marks the session closed; keep
			// draining until then so nothing waits on a full queue.
			s.mu.Lock()
			closed := s.closed
			s.mu.Unlock()
			if closed {
				return
			}
			<-s.wake
		}
		askTimer.Stop()
		heldTimer.Stop()
	}
}

// writeBatch writes an ack, then the batch, and reports whether the stream
// is still usable. With stream management every stanza is kept, from just
// before it is written, until the server acknowledges it; after a failed
// write, the rest of the batch goes back to the queue if the session may be
// resumed (serve drops the queue otherwise).
func (s *Session) writeBatch(stream *mxmpp.Session, ack *xmpp.Element, batch []outItem) bool {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	fail := func(err error, rest []outItem) bool {
		s.log.Warn("xmpp write failed; dropping the stream", "err", err, "unwritten", len(rest))
		_ = stream.Conn().Close()
		s.mu.Lock()
		if s.sm != nil && s.sm.tracking {
			s.queue = append(rest[:len(rest):len(rest)], s.queue...)
			rest = nil
		}
		s.mu.Unlock()
		releaseFlushes(rest)
		return false
	}
	if ack != nil {
		if err := s.writeElement(stream, ack); err != nil {
			return fail(err, batch)
		}
	}
	for i, item := range batch {
		if s.cutting.Load() {
			// The connection is about to be cut: stop at this stanza
			// boundary. The rest goes back to the queue (Detach drops it,
			// a resumption writes it).
			s.mu.Lock()
			s.queue = append(batch[i:len(batch):len(batch)], s.queue...)
			s.mu.Unlock()
			return true
		}
		if item.flushed != nil {
			close(item.flushed.done)
			continue
		}
		if s.sm != nil {
			s.mu.Lock()
			if s.sm.tracking {
				s.sm.outH++
				if item.pos != 0 && item.pos != s.sm.outH {
					s.log.Error("xmpp stream management: a stanza written out of its place", "pos", item.pos, "written_at", s.sm.outH)
				}
				if len(s.sm.unacked) == 0 {
					s.sm.unackedSince = time.Now()
				}
				s.sm.unacked = append(s.sm.unacked, item.el)
			}
			s.mu.Unlock()
		}
		if err := s.writeElement(stream, item.el); err != nil {
			return fail(err, batch[i+1:])
		}
	}
	return true
}

// requestAck writes an <r/> when stanzas await acknowledgement, no
// request is out and the pacing (StreamManagement.AckRequestDelay,
// AckRequestEvery; none while the session drains for Detach) allows one, and reports whether it wrote one; if the
// pacing held one back, askIn is when to try again.
func (s *Session) requestAck(stream, broken *mxmpp.Session) (wrote bool, askIn time.Duration) {
	if s.sm == nil || stream == nil || stream == broken {
		return false, 0
	}
	s.mu.Lock()
	ask := s.stream == stream && s.sm.tracking && !s.sm.rPending && len(s.sm.unacked) > 0
	// No pacing while Detach drains: it waits for the server's ack of
	// everything written.
	paced := s.sm.cfg.AckRequestDelay > 0 && !s.cutting.Load()
	if ask && paced && (s.sm.cfg.AckRequestEvery <= 0 || len(s.sm.unacked) < s.sm.cfg.AckRequestEvery) {
		if wait := time.Until(s.sm.unackedSince.Add(s.sm.cfg.AckRequestDelay)); wait > 0 {
			ask, askIn = false, wait
		}
	}
	if ask {
		s.sm.rPending = true
	}
	s.mu.Unlock()
	if !ask {
		return false, askIn
	}
	s.writeMu.Lock()
	err := s.writeElement(stream, xmpp.NewElement(nsSM, "r"))
	s.writeMu.Unlock()
	if err != nil {
		s.log.Warn("xmpp write failed; dropping the stream", "err", err)
		_ = stream.Conn().Close()
	}
	return true, 0
}

// writeElement writes one element under the write timeout. The deadline is
// set on the connection, not passed as a context: mellium watches a Send
// context from a goroutine that can outlive Send and, seeing it cancelled,
// sets a past write deadline that fails the next write with an i/o timeout.
func (s *Session) writeElement(stream *mxmpp.Session, el *xmpp.Element) error {
	conn := stream.Conn()
	_ = conn.SetWriteDeadline(time.Now().Add(s.cfg.WriteTimeout))
	err := stream.Send(context.Background(), el.TokenReader())
	_ = conn.SetWriteDeadline(time.Time{})
	return err
}

// releaseFlushes wakes the Flush calls among items that will not be written:
// there is nothing left to wait for.
func releaseFlushes(items []outItem) {
	for _, it := range items {
		if it.flushed != nil {
			close(it.flushed.done)
		}
	}
}

func jitter(d time.Duration) time.Duration {
	return d/2 + rand.N(d/2+1)
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
