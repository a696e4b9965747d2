package session

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"time"

	"mellium.im/sasl"
	mxmpp "mellium.im/xmpp"
	"mellium.im/xmpp/jid"

	"focal/xmpp"
)

// WarmDials keeps client streams logged in ahead of need, each stopped
// before its last step (binding or resuming), for Sessions that resume an
// XEP-0198 session another process held: a takeover, when every round trip
// waits behind a server loaded with the moment's burst, then needs one
// round trip (<resume/>) instead of the seven of connecting, STARTTLS, SASL
// and the stream restarts between them. A stream waiting so holds nothing
// on the server but a connection; one older than MaxAge is closed and
// replaced, so that none has gone stale when it is needed.
type WarmDials struct {
	opts   ClientOptions
	size   int
	maxAge time.Duration
	log    *slog.Logger

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu       sync.Mutex
	ready    []*warmDial
	dialing  int
	loggedIn int
	closed   bool
}

// warmDial is one stream waiting at its last step of negotiation.
type warmDial struct {
	conn   net.Conn
	born   time.Time
	parked chan struct{}    // closed once negotiation waits for a claim
	claim  chan *smDial     // what to do last; nil: give up
	done   chan warmOutcome // what the negotiation came to
}

type warmOutcome struct {
	s   *mxmpp.Session
	err error
}

// DefaultWarmMaxAge is how long a warm stream waits before it is replaced.
const DefaultWarmMaxAge = time.Minute

// warmRetry paces attempts to log a warm stream in after one failed.
const warmRetry = time.Second

// NewWarmDials starts keeping size streams logged in as opts says (its
// JID's resource is not used: a resumed session keeps its own address).
// maxAge 0 means DefaultWarmMaxAge. Close stops it.
func NewWarmDials(opts ClientOptions, size int, maxAge time.Duration, logger *slog.Logger) *WarmDials {
	if maxAge <= 0 {
		maxAge = DefaultWarmMaxAge
	}
	ctx, cancel := context.WithCancel(context.Background())
	w := &WarmDials{opts: opts, size: size, maxAge: maxAge, log: logger, ctx: ctx, cancel: cancel}
	w.fill()
	w.wg.Add(1)
	go w.expireLoop()
	return w
}

// Ready reports how many streams wait logged in.
func (w *WarmDials) Ready() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.ready)
}

// LoggedIn reports how many streams the pool has logged in so far.
func (w *WarmDials) LoggedIn() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.loggedIn
}

// Dialer returns a Dialer that resumes on a warm stream when the Session
// asks for a resumption and one is ready, and dials with cold otherwise.
func (w *WarmDials) Dialer(cold Dialer) Dialer {
	return func(ctx context.Context) (*mxmpp.Session, string, error) {
		req, ok := ctx.Value(smDialKey{}).(*smDial)
		if !ok || req.resume.ID == "" {
			return cold(ctx)
		}
		wd := w.take()
		if wd == nil {
			return cold(ctx)
		}
		w.fill()
		wd.claim <- req
		select {
		case out := <-wd.done:
			var refused *ResumeError
			switch {
			case out.err == nil:
				return out.s, xmpp.NSClient, nil
			case errors.As(out.err, &refused):
				// A definite answer: another stream would get it too.
				return nil, "", fmt.Errorf("resume on a warm stream: %w", out.err)
			}
			// The stream was dead (a waiting stream reads nothing, so a
			// reset went unnoticed), and so, likely, are the others that
			// waited through the same: new ones replace them, and this
			// resumption goes on a cold stream at once rather than after
			// the Session's backoff.
			w.log.Warn("warm stream failed; resuming on a new one", "err", out.err)
			w.replaceReady()
			return cold(ctx)
		case <-ctx.Done():
			wd.conn.Close() // ends the negotiation, which reports on done
			return nil, "", fmt.Errorf("resume on a warm stream: %w", ctx.Err())
		}
	}
}

// replaceReady closes every ready stream and logs new ones in.
func (w *WarmDials) replaceReady() {
	w.mu.Lock()
	old := w.ready
	w.ready = nil
	w.mu.Unlock()
	for _, wd := range old {
		wd.claim <- nil
	}
	w.fill()
}

// Close closes every warm stream and waits for their goroutines.
func (w *WarmDials) Close() {
	w.mu.Lock()
	w.closed = true
	ready := w.ready
	w.ready = nil
	w.mu.Unlock()
	w.cancel()
	for _, wd := range ready {
		wd.claim <- nil
	}
	w.wg.Wait()
}

// take removes the oldest ready stream, or returns nil.
func (w *WarmDials) take() *warmDial {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.ready) == 0 {
		return nil
	}
	wd := w.ready[0]
	w.ready = w.ready[1:]
	return wd
}

// fill starts logging streams in until size are ready or on their way.
func (w *WarmDials) fill() {
	w.mu.Lock()
	defer w.mu.Unlock()
	for !w.closed && len(w.ready)+w.dialing < w.size {
		w.dialing++
		w.wg.Add(1)
		go w.dialOne()
	}
}

// dialOne logs one stream in and parks it; after a failure it waits
// warmRetry before it gives its place back.
func (w *WarmDials) dialOne() {
	defer w.wg.Done()
	wd, err := w.start()
	w.mu.Lock()
	w.dialing--
	if err == nil {
		w.loggedIn++
	}
	if err == nil && !w.closed {
		w.ready = append(w.ready, wd)
		w.mu.Unlock()
		return
	}
	closed := w.closed
	w.mu.Unlock()
	if err == nil { // closed meanwhile
		wd.claim <- nil
		return
	}
	if closed {
		return
	}
	w.log.Warn("warm stream not logged in", "err", err)
	select {
	case <-time.After(warmRetry):
		w.fill()
	case <-w.ctx.Done():
	}
}

// start connects and negotiates a stream up to its last step, where it
// waits for a claim on its own goroutine.
func (w *WarmDials) start() (*warmDial, error) {
	ctx, cancel := context.WithTimeout(w.ctx, cmp.Or(w.opts.Timeout, DefaultDialTimeout))
	defer cancel()
	j, err := jid.Parse(w.opts.JID)
	if err != nil {
		return nil, fmt.Errorf("client JID %q: %w", w.opts.JID, err)
	}
	conn, err := (&net.Dialer{}).DialContext(ctx, "tcp", w.opts.Addr)
	if err != nil {
		return nil, fmt.Errorf("dial client %s: %w", w.opts.Addr, err)
	}
	wd := &warmDial{conn: conn, born: time.Now(), parked: make(chan struct{}),
		claim: make(chan *smDial, 1), done: make(chan warmOutcome, 1)}
	var features []mxmpp.StreamFeature
	if w.opts.TLS != nil {
		features = append(features, mxmpp.StartTLS(w.opts.TLS))
	}
	features = append(features, mxmpp.SASL("", w.opts.Password, sasl.ScramSha256, sasl.ScramSha1, sasl.Plain), warmLastStep(j, wd))
	w.wg.Add(1)
	go func() {
		defer w.wg.Done()
		// The pool's context, not the dial's: the stream outlives start.
		s, err := mxmpp.NewSession(w.ctx, j.Domain(), j, conn, 0, mxmpp.NewNegotiator(
			func(*mxmpp.Session, *mxmpp.StreamConfig) mxmpp.StreamConfig {
				return mxmpp.StreamConfig{Features: features}
			}))
		if err != nil {
			conn.Close()
		}
		wd.done <- warmOutcome{s, err}
	}()
	select {
	case <-wd.parked:
		return wd, nil
	case out := <-wd.done:
		if out.err == nil {
			out.err = errors.New("negotiation ended without its last step")
		}
		return nil, fmt.Errorf("log in as %s: %w", w.opts.JID, out.err)
	case <-ctx.Done():
		conn.Close()
		<-wd.done
		return nil, fmt.Errorf("log in as %s: %w", w.opts.JID, ctx.Err())
	}
}

// warmLastStep is bindFeature for a warm stream: it reports the stream
// parked, then waits for a claim and does what it asks.
func warmLastStep(want jid.JID, wd *warmDial) mxmpp.StreamFeature {
	f := bindFeature(want)
	f.Negotiate = func(ctx context.Context, s *mxmpp.Session, _ any) (mxmpp.SessionState, io.ReadWriter, error) {
		close(wd.parked)
		select {
		case req := <-wd.claim:
			if req == nil {
				return mxmpp.Ready, nil, errors.New("warm stream not used")
			}
			if req.resume.ID != "" {
				return mxmpp.Ready, nil, resumeSession(s, req, want)
			}
			return mxmpp.Ready, nil, bindResource(s, want)
		case <-ctx.Done():
			return mxmpp.Ready, nil, ctx.Err()
		}
	}
	return f
}

// expireLoop replaces the streams that waited longer than maxAge.
func (w *WarmDials) expireLoop() {
	defer w.wg.Done()
	t := time.NewTicker(w.maxAge / 4)
	defer t.Stop()
	for {
		select {
		case <-w.ctx.Done():
			return
		case now := <-t.C:
			w.mu.Lock()
			var old []*warmDial
			kept := w.ready[:0]
			for _, wd := range w.ready {
				if now.Sub(wd.born) > w.maxAge {
					old = append(old, wd)
				} else {
					kept = append(kept, wd)
				}
			}
			w.ready = kept
			w.mu.Unlock()
			for _, wd := range old {
				wd.claim <- nil
			}
			w.fill()
		}
	}
}
