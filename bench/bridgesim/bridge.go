// Package bridgesim simulates Jitsi Videobridges that speak Colibri2 over XMPP, with fault controls, for tests and load runs of the focus.
package bridgesim

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"time"

	mxmpp "mellium.im/xmpp"

	"focal/xmpp"
	"focal/xmpp/session"
)

// Defaults of the allocated transports.
const (
	DefaultCandidateIP   = "127.0.0.1"
	DefaultCandidatePort = 10000
	// SCTPPort is the data-channel port the bridge answers with.
	SCTPPort = 5000
)

// NSPing is XMPP ping (XEP-0199), answered like any XMPP client would.
const NSPing = "urn:xmpp:ping"

// leaveFlushTimeout bounds how long Stop waits for the leave presence to be
// written before it closes the stream.
const leaveFlushTimeout = 2 * time.Second

// Config of one simulated bridge.
type Config struct {
	Addr     string // host:port of the XMPP server's c2s listener
	Domain   string // domain of the bridge account, e.g. auth.meet.jitsi
	User     string // e.g. jvb; several bridges may share one account
	Password string
	// Resource is bound for the bridge's login; defaults to Nick, so
	// bridges sharing one account get distinct full JIDs.
	Resource string
	Brewery  string // room JID, e.g. jvbbrewery@internal.auth.meet.jitsi
	Nick     string // nickname in the brewery, e.g. jvb1
	Stats    Stats
	Logger   *slog.Logger
	// TLS for STARTTLS, which is negotiated whenever the server offers it.
	// Nil accepts any certificate, with Domain as the server name.
	TLS *tls.Config
	// CandidateIP and CandidatePort are the host candidate of every allocated
	// transport (defaults 127.0.0.1 and 10000).
	CandidateIP   string
	CandidatePort int
	// WebSocketBase, when set (e.g. wss://jvb1.example/colibri-ws), adds a
	// <web-socket/> under it to every endpoint transport. Relays without
	// SCTP always get one.
	WebSocketBase string
}

// Bridge is one simulated videobridge. Its methods are safe for concurrent
// use.
type Bridge struct {
	cfg         Config
	log         *slog.Logger
	fingerprint string

	life sync.Mutex // serialises Start, Stop and Die

	mu      sync.Mutex
	sess    *session.Session // nil while not running
	cancel  context.CancelFunc
	stream  *mxmpp.Session // the current stream, for Die
	dying   bool
	st      State                  // Conferences unused: see confs
	confs   map[string]*Conference // by meeting id
	changed chan struct{}          // closed and replaced on every change

	// The request journal (journal.go); names keeps each meeting's room
	// after its conference expired.
	journal    []Request
	journalSeq int
	names      map[string]string
}

// New returns a bridge; Start connects it.
func New(cfg Config) *Bridge {
	if cfg.Resource == "" {
		cfg.Resource = cfg.Nick
	}
	if cfg.CandidateIP == "" {
		cfg.CandidateIP = DefaultCandidateIP
	}
	if cfg.CandidatePort == 0 {
		cfg.CandidatePort = DefaultCandidatePort
	}
	if cfg.TLS == nil {
		// Test and bench servers use self-signed certificates.
		cfg.TLS = &tls.Config{ServerName: cfg.Domain, InsecureSkipVerify: true}
	}
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	return &Bridge{
		cfg:         cfg,
		log:         log.With("bridge", cfg.Nick),
		fingerprint: randomFingerprint(),
		st:          State{Nick: cfg.Nick, Stats: cfg.Stats},
		confs:       make(map[string]*Conference),
		changed:     make(chan struct{}),
		names:       make(map[string]string),
	}
}

// Nick is the bridge's nickname in the brewery.
func (b *Bridge) Nick() string { return b.cfg.Nick }

// JID is the bridge's occupant JID in the brewery, the address a focus sends
// colibri2 requests to.
func (b *Bridge) JID() string { return b.cfg.Brewery + "/" + b.cfg.Nick }

// Start logs in, joins the brewery with the stats in presence and waits
// until the brewery reflects that presence. ctx bounds only that wait: the
// bridge then runs, reconnecting and re-joining as needed, until Stop or Die.
// A started bridge has no conferences; Start after Die or Stop is a restart.
func (b *Bridge) Start(ctx context.Context) error {
	b.life.Lock()
	defer b.life.Unlock()
	b.mu.Lock()
	if b.sess != nil {
		b.mu.Unlock()
		return errors.New("bridgesim: bridge already running")
	}
	runCtx, cancel := context.WithCancel(context.Background())
	var s *session.Session
	s = session.New(session.Config{
		Name:       "bridgesim-" + b.cfg.Nick,
		Dial:       b.dialer(),
		Handler:    func(el *xmpp.Element) { b.handle(s, el) },
		State:      func(up bool, _ string) { b.onStream(s, up) },
		Logger:     b.log,
		MinBackoff: 100 * time.Millisecond,
		MaxBackoff: 2 * time.Second,
	})
	b.sess, b.cancel, b.stream, b.dying = s, cancel, nil, false
	b.confs = make(map[string]*Conference)
	b.st.Running, b.st.Dead, b.st.Hung, b.st.Left = true, false, false, false
	b.st.Joined, b.st.Connected, b.st.JoinError = false, false, nil
	b.notifyLocked()
	b.mu.Unlock()
	go s.Run(runCtx)

	st, err := b.Await(ctx, func(st State) bool { return st.Joined || st.JoinError != nil })
	if err == nil && st.JoinError != nil {
		err = st.JoinError
	}
	if err != nil {
		b.shutdown(false)
		return fmt.Errorf("bridgesim: start %s: %w", b.cfg.Nick, err)
	}
	return nil
}

// Stop leaves the brewery, closes the stream cleanly and waits until the
// bridge's goroutines have ended. Stopping a bridge that is not running does
// nothing.
func (b *Bridge) Stop() {
	b.life.Lock()
	defer b.life.Unlock()
	b.shutdown(false)
}

// Die closes the socket abruptly, as a crashed bridge would: no leave
// presence and no closing stream tag, so the server has to notice and tell
// the brewery. It returns once the bridge's goroutines have ended.
func (b *Bridge) Die() {
	b.life.Lock()
	defer b.life.Unlock()
	b.shutdown(true)
}

func (b *Bridge) shutdown(abrupt bool) {
	b.mu.Lock()
	s, cancel, stream := b.sess, b.cancel, b.stream
	if s == nil {
		b.mu.Unlock()
		return
	}
	b.dying = true // no redial, whatever happens next
	connected := b.st.Connected
	b.mu.Unlock()

	if abrupt {
		if stream != nil {
			closeAbruptly(stream.Conn())
		}
	} else if connected {
		if err := s.Send(xmpp.LeavePresence(b.cfg.Brewery, b.cfg.Nick)); err == nil {
			ctx, done := context.WithTimeout(context.Background(), leaveFlushTimeout)
			_ = s.Flush(ctx)
			done()
		}
	}
	cancel()
	<-s.Done()

	b.mu.Lock()
	b.sess, b.cancel, b.stream = nil, nil, nil
	b.st.Running, b.st.Connected, b.st.Joined = false, false, false
	b.st.Dead = abrupt
	b.notifyLocked()
	b.mu.Unlock()
}

// closeAbruptly closes the TCP connection under any TLS layer, so that not
// even a TLS close_notify reaches the server.
func closeAbruptly(c net.Conn) {
	if tc, ok := c.(interface{ NetConn() net.Conn }); ok {
		c = tc.NetConn()
	}
	if c != nil {
		_ = c.Close()
	}
}

var errDying = errors.New("bridgesim: bridge is shutting down")

// dialer logs in with the session package's client dialer and remembers the
// stream, which Die needs to cut the socket.
func (b *Bridge) dialer() session.Dialer {
	inner := session.ClientDialer(session.ClientOptions{
		Addr:     b.cfg.Addr,
		JID:      b.cfg.User + "@" + b.cfg.Domain + "/" + b.cfg.Resource,
		Password: b.cfg.Password,
		TLS:      b.cfg.TLS,
	})
	return func(ctx context.Context) (*mxmpp.Session, string, error) {
		b.mu.Lock()
		dying := b.dying
		b.mu.Unlock()
		if dying {
			return nil, "", errDying
		}
		stream, ns, err := inner(ctx)
		if err != nil {
			return nil, "", err
		}
		b.mu.Lock()
		defer b.mu.Unlock()
		if b.dying {
			closeAbruptly(stream.Conn())
			return nil, "", errDying
		}
		b.stream = stream
		return stream, ns, nil
	}
}

// onStream follows the stream going up and down; each time it comes up the
// bridge (re-)joins the brewery unless it was told to Leave.
func (b *Bridge) onStream(s *session.Session, up bool) {
	b.mu.Lock()
	b.st.Connected = up
	if !up {
		b.st.Joined = false
		b.stream = nil
	}
	join := up && !b.st.Left
	stats := b.st.Stats
	b.notifyLocked()
	b.mu.Unlock()
	if join {
		_ = s.Send(xmpp.JoinPresence(b.cfg.Brewery, b.cfg.Nick, stats.Element()))
	}
}

// Hang makes the bridge ignore every IQ request while keeping its stream and
// brewery presence, like a bridge whose colibri thread is stuck.
func (b *Bridge) Hang() { b.setHung(true) }

// Resume ends Hang. Requests ignored meanwhile stay unanswered.
func (b *Bridge) Resume() { b.setHung(false) }

func (b *Bridge) setHung(h bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.st.Hung = h
	b.notifyLocked()
}

// Leave leaves the brewery cleanly; the stream stays up and IQs are still
// answered. The bridge stays out, across reconnects, until Rejoin.
func (b *Bridge) Leave() error {
	b.mu.Lock()
	b.st.Left = true
	s := b.sess
	b.notifyLocked()
	b.mu.Unlock()
	if s == nil {
		return nil
	}
	return s.Send(xmpp.LeavePresence(b.cfg.Brewery, b.cfg.Nick))
}

// Rejoin enters the brewery again after Leave.
func (b *Bridge) Rejoin() error {
	b.mu.Lock()
	b.st.Left = false
	s, stats := b.sess, b.st.Stats
	b.notifyLocked()
	b.mu.Unlock()
	if s == nil {
		return nil
	}
	return s.Send(xmpp.JoinPresence(b.cfg.Brewery, b.cfg.Nick, stats.Element()))
}

// SetStats replaces the stats and publishes them in a new presence.
func (b *Bridge) SetStats(s Stats) error {
	return b.UpdateStats(func(st *Stats) { *st = s })
}

// UpdateStats changes the stats with fn, under the bridge's lock, and
// publishes them in a new presence (when in the brewery).
func (b *Bridge) UpdateStats(fn func(*Stats)) error {
	b.mu.Lock()
	fn(&b.st.Stats)
	s, stats, publish := b.sess, b.st.Stats, b.st.Connected && !b.st.Left
	b.notifyLocked()
	b.mu.Unlock()
	if s == nil || !publish {
		return nil
	}
	p := xmpp.NewPresence("", "", b.cfg.Brewery+"/"+b.cfg.Nick, stats.Element())
	return s.Send(p)
}

// Stats returns the current stats.
func (b *Bridge) Stats() Stats {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.st.Stats
}

// State returns a snapshot of the bridge.
func (b *Bridge) State() State {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.snapshotLocked()
}

// Conferences returns a copy of the conferences by meeting id.
func (b *Bridge) Conferences() map[string]Conference {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.conferencesLocked()
}

// Changed returns a channel that is closed at the bridge's next change.
func (b *Bridge) Changed() <-chan struct{} {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.changed
}

// Await returns the first state, now or after a change, that cond accepts,
// or ctx's error.
func (b *Bridge) Await(ctx context.Context, cond func(State) bool) (State, error) {
	for {
		b.mu.Lock()
		st := b.snapshotLocked()
		changed := b.changed
		b.mu.Unlock()
		if cond(st) {
			return st, nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return st, fmt.Errorf("bridgesim: awaiting %s: %w", b.cfg.Nick, ctx.Err())
		}
	}
}

func (b *Bridge) snapshotLocked() State {
	st := b.st
	st.Conferences = b.conferencesLocked()
	return st
}

func (b *Bridge) conferencesLocked() map[string]Conference {
	out := make(map[string]Conference, len(b.confs))
	for id, c := range b.confs {
		out[id] = c.clone()
	}
	return out
}

func (b *Bridge) notifyLocked() {
	b.st.Seq++
	close(b.changed)
	b.changed = make(chan struct{})
}

// handle receives every stanza of session s on its read loop. Answers are
// computed under the lock, without blocking, and queued.
func (b *Bridge) handle(s *session.Session, el *xmpp.Element) {
	switch el.Name.Local {
	case xmpp.KindPresence:
		b.onPresence(el)
	case xmpp.KindIQ:
		if !xmpp.IsIQRequest(el) {
			return // a stray response: nothing was asked
		}
		if resp := b.onIQ(el); resp != nil {
			_ = s.Send(resp)
		}
	}
}

func (b *Bridge) onPresence(el *xmpp.Element) {
	p, ok := xmpp.ParseOccupantPresence(el)
	if !ok || !strings.EqualFold(p.Room, b.cfg.Brewery) || p.Nick != b.cfg.Nick {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	switch {
	case p.Error != nil:
		b.st.JoinError = fmt.Errorf("brewery %s refused %s: %w", b.cfg.Brewery, b.cfg.Nick, *p.Error)
		b.st.Joined = false
	case p.Unavailable:
		b.st.Joined = false
	case p.Self:
		b.st.Joined = true
		b.st.JoinError = nil
	default:
		return
	}
	b.notifyLocked()
}

// onIQ returns the answer to an IQ request, or nil while hung.
func (b *Bridge) onIQ(req *xmpp.Element) *xmpp.Element {
	b.mu.Lock()
	defer b.mu.Unlock()
	defer b.notifyLocked()
	if b.st.Hung {
		b.st.Counters.Dropped++
		return nil
	}
	b.st.Counters.IQs++
	payload := req.FirstChild()
	switch {
	case payload == nil:
		return xmpp.ErrorFor(req, xmpp.NewStanzaError(xmpp.ServiceUnavailable, ""))
	case payload.Name.Space == xmpp.Colibri2NS && payload.Name.Local == "conference-modify":
		before := b.endpointSSRCsLocked(payload.AttrValue("meeting-id"))
		resp := b.conferenceModifyLocked(req, payload)
		if resp.AttrValue("type") == xmpp.IQError {
			b.st.Counters.ColibriErrors++
		}
		b.recordLocked(req, payload, before, resp)
		return resp
	case payload.Name.Space == xmpp.Colibri2NSHealthcheck && payload.Name.Local == "healthcheck":
		b.st.Counters.Healthchecks++
		if b.st.Stats.Unhealthy {
			return xmpp.ErrorFor(req, xmpp.NewStanzaError(xmpp.InternalServerError, "bridge is unhealthy"))
		}
		return xmpp.ResultFor(req, nil)
	case payload.Name.Space == NSPing && payload.Name.Local == "ping" && req.AttrValue("type") == xmpp.IQGet:
		return xmpp.ResultFor(req, nil)
	default:
		return xmpp.ErrorFor(req, xmpp.NewStanzaError(xmpp.ServiceUnavailable, ""))
	}
}

// randomFingerprint returns a SHA-256 sized fingerprint in the colon
// separated hex form of SDP and Jingle.
func randomFingerprint() string {
	var raw [32]byte
	_, _ = rand.Read(raw[:])
	parts := make([]string, len(raw))
	for i, c := range raw {
		parts[i] = fmt.Sprintf("%02X", c)
	}
	return strings.Join(parts, ":")
}
