package session

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"strings"
	"sync"
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
	pending map[string]*pendingRequest
	queue   []outItem
	wake    chan struct{}
	closed  bool

	done chan struct{}
}

// outItem is a stanza to write, or a flush marker whose channel the writer
// closes once everything queued before it is written.
type outItem struct {
	el      *xmpp.Element
	flushed chan struct{}
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
	return &Session{
		cfg:     cfg,
		log:     log.With("stream", cfg.Name),
		up:      make(chan struct{}),
		pending: make(map[string]*pendingRequest),
		wake:    make(chan struct{}, 1),
		done:    make(chan struct{}),
	}
}

// Run keeps the stream up until ctx is cancelled, then closes it cleanly and
// returns. Call it once.
func (s *Session) Run(ctx context.Context) {
	defer close(s.done)
	writerDone := make(chan struct{})
	go func() {
		defer close(writerDone)
		s.writeLoop(ctx)
	}()
	backoff := s.cfg.MinBackoff
	for ctx.Err() == nil {
		stream, ns, err := s.cfg.Dial(ctx)
		if err != nil {
			if ctx.Err() != nil {
				break
			}
			s.log.Warn("xmpp connect failed", "err", err, "retry_in", backoff)
			if !sleep(ctx, jitter(backoff)) {
				break
			}
			backoff = min(2*backoff, s.cfg.MaxBackoff)
			continue
		}
		backoff = s.cfg.MinBackoff
		s.serve(ctx, stream, ns)
	}
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	s.wakeWriter()
	<-writerDone
	s.failPending(ErrClosed)
}

// Done is closed when Run has returned.
func (s *Session) Done() <-chan struct{} { return s.done }

// serve runs one connected stream until it fails or ctx ends.
func (s *Session) serve(ctx context.Context, stream *mxmpp.Session, ns string) {
	addr := stream.LocalAddr().String()
	s.mu.Lock()
	s.stream, s.ns, s.addr = stream, ns, addr
	close(s.up)
	s.mu.Unlock()
	s.log.Info("xmpp stream up", "addr", addr)
	s.cfg.State(true, addr)
	s.wakeWriter()

	readErr := make(chan error, 1)
	go func() { readErr <- s.readLoop(stream, ns) }()
	var err error
	select {
	case err = <-readErr:
	case <-ctx.Done():
		// A clean </stream:stream> makes the server end the session at once,
		// so the MUC sees the focus leave instead of a timeout.
		_ = stream.Close()
		_ = stream.Conn().Close()
		err = <-readErr
	}
	_ = stream.Conn().Close()

	s.mu.Lock()
	s.stream = nil
	s.up = make(chan struct{})
	dropped := s.queue
	s.queue = nil // stanzas for a dead stream would be stale after a reconnect
	s.mu.Unlock()
	releaseFlushes(dropped)
	s.failPending(ErrDisconnected)
	if ctx.Err() == nil {
		s.log.Warn("xmpp stream down", "err", err)
	}
	s.cfg.State(false, "")
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
		el, err := xmpp.ReadElement(r, start, s.cfg.Limits)
		if errors.Is(err, xmpp.ErrTooLarge) {
			s.rejectTooLarge(start)
			continue
		}
		if err != nil {
			return err
		}
		if el.Name.Space == nsStreams && el.Name.Local == "error" {
			return fmt.Errorf("stream error: %s", streamErrorText(el))
		}
		xmpp.StripStreamNamespace(el, ns)
		if !xmpp.IsStanza(el) {
			continue
		}
		if s.deliverResponse(el) {
			continue
		}
		s.cfg.Handler(el)
	}
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
// re-joins its room, it does not replay old presences).
func (s *Session) Send(stanza *xmpp.Element) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	if s.stream == nil {
		return ErrNotConnected
	}
	s.queue = append(s.queue, outItem{el: stanza})
	s.wakeWriterLocked()
	return nil
}

// Flush waits until every stanza queued so far is written, e.g. the leave
// presences of a node shutting down.
func (s *Session) Flush(ctx context.Context) error {
	done := make(chan struct{})
	s.mu.Lock()
	if s.closed || s.stream == nil {
		s.mu.Unlock()
		return ErrNotConnected
	}
	s.queue = append(s.queue, outItem{flushed: done})
	s.wakeWriterLocked()
	s.mu.Unlock()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Request sends an IQ get or set and calls cb exactly once with its response,
// ErrTimeout after timeout, or a connection error.
func (s *Session) Request(iq *xmpp.Element, timeout time.Duration, cb ResponseFunc) {
	id := iq.AttrValue("id")
	if id == "" {
		id = xmpp.NewID()
		iq.SetAttr("id", id)
	}
	s.mu.Lock()
	if s.closed || s.stream == nil {
		s.mu.Unlock()
		if s.closed {
			cb(nil, ErrClosed)
		} else {
			cb(nil, ErrNotConnected)
		}
		return
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
	s.queue = append(s.queue, outItem{el: iq})
	s.wakeWriterLocked()
	s.mu.Unlock()
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
	return s.stream != nil, s.addr
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
	for {
		s.mu.Lock()
		stream, batch, closed := s.stream, s.queue, s.closed
		s.queue = nil
		s.mu.Unlock()
		if closed {
			return
		}
		for i, item := range batch {
			if item.flushed != nil {
				close(item.flushed)
				continue
			}
			if stream == nil {
				releaseFlushes(batch[i:])
				break
			}
			// The deadline is set on the connection, not passed as a context:
			// mellium watches a Send context from a goroutine that can outlive
			// Send and, seeing it cancelled, sets a past write deadline that
			// fails the next write with an i/o timeout.
			conn := stream.Conn()
			_ = conn.SetWriteDeadline(time.Now().Add(s.cfg.WriteTimeout))
			err := stream.Send(context.Background(), item.el.TokenReader())
			_ = conn.SetWriteDeadline(time.Time{})
			if err != nil {
				s.log.Warn("xmpp write failed; dropping the stream", "err", err, "dropped", len(batch)-i)
				_ = stream.Conn().Close()
				releaseFlushes(batch[i:])
				break
			}
		}
		if len(batch) > 0 {
			continue
		}
		select {
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
	}
}

// releaseFlushes wakes the Flush calls among items that will not be written:
// there is nothing left to wait for.
func releaseFlushes(items []outItem) {
	for _, it := range items {
		if it.flushed != nil {
			close(it.flushed)
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
