package testclient

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"focal/media/sources"
	"focal/xmpp"
)

// MediaOptions configures a Media endpoint. The zero value is a Jitsi Meet
// web client with a microphone and a camera that answers every offer.
type MediaOptions struct {
	// Nick is the endpoint's MUC nickname: it names the sources
	// (<nick>-a0, <nick>-v0) and, with the room, owns them. Empty picks a
	// random one of 8 hex digits, the shape of Jitsi's.
	Nick string
	// Features answer the focus's disco#info; nil means DefaultFeatures.
	Features []string
	// JSONSources adds FeatureJSONSources to the features, so that the focus
	// sends sources as <json-message/>.
	JSONSources bool

	// Sources, when not nil, are the endpoint's own sources as given (an
	// empty set for an endpoint that sends nothing). Nil builds one audio
	// and one video source with random SSRCs unique in the process.
	Sources *sources.Set
	// Simulcast (three SIM layers) and RTX (a FID stream per video SSRC)
	// shape the default video sources.
	Simulcast, RTX bool
	// InitialLastN, when not nil, is put in the video content of the
	// session-accept as <initial-last-n/>.
	InitialLastN *int
	// Port is the port of the host candidate; 0 picks a random one.
	Port int

	// Silent records offers and answers their IQs but never sends
	// session-accept or transport-accept: a participant that never answers.
	Silent bool
	// RejectInitiate answers session-initiate with a not-acceptable error.
	RejectInitiate bool
	// RequestTimeout bounds the session-accept and transport-accept requests
	// sent on the endpoint's own initiative; 0 means 10 s.
	RequestTimeout time.Duration
}

// Offer is what a session-initiate (or transport-replace) from the focus
// said. Its slices and pointers are shared: read, do not modify.
type Offer struct {
	From          string // occupant JID it came from, where answers go
	SID           string
	Initiator     string
	Contents      []xmpp.JingleContent
	Transport     *xmpp.JingleICETransport // the bridge's (ufrag, pwd, fingerprints, candidates)
	BridgeSession *xmpp.JingleBridgeSession
	StartMuted    *xmpp.JingleStartMuted
	// Sources are the other endpoints' sources by owner, from <source/>
	// elements or, when JSONSources, from the <json-message/>.
	Sources     map[string]sources.Set
	JSONSources bool
	Jingle      *xmpp.Jingle // the whole payload
}

// BridgeSessionID is the id of the offer's <bridge-session/>, or "".
func (o Offer) BridgeSessionID() string {
	if o.BridgeSession == nil {
		return ""
	}
	return o.BridgeSession.ID
}

// ErrNoSession is returned by the Send methods when no session is up.
var ErrNoSession = errors.New("testclient: no jingle session")

// Media is a simulated Jitsi Meet media endpoint on a Client: the Jingle
// side of lib-jitsi-meet towards the focus, without any media. It answers
// disco#info and Jingle requests on the client's stream and records what the
// focus said, for tests to wait on.
type Media struct {
	c         *Client
	opts      MediaOptions
	nick      string
	features  []string
	transport *xmpp.JingleICETransport // ours

	mu              sync.Mutex
	changed         chan struct{} // closed and replaced on every change
	local           sources.Set
	sessions        []*mediaSession
	awaited         int // sessions returned by AwaitSession
	replaces        []Offer
	awaitedReplaces int
	remote          map[string]sources.Set
	remoteTransport *xmpp.JingleICETransport
	actions         []xmpp.JingleAction
}

// mediaSession is one Jingle session, from session-initiate to its end.
type mediaSession struct {
	offer      Offer
	acceptSent bool
	acceptDone bool  // the focus answered the session-accept
	acceptErr  error // and how
	ended      bool
	endReason  *xmpp.JingleReason
}

// NewMedia makes c a media endpoint: from now on it answers disco#info and
// Jingle requests. Other IQs go to Options.OnIQ as before. Call it before
// joining the room, or the focus's disco#info may come first.
func NewMedia(c *Client, opts MediaOptions) *Media {
	m := newMedia(c, opts)
	c.SetIQHandler(m.handleIQ)
	return m
}

// newMedia builds the endpoint without hooking it to c (unit tests call
// handleIQ directly).
func newMedia(c *Client, opts MediaOptions) *Media {
	m := &Media{c: c, opts: opts, nick: opts.Nick, changed: make(chan struct{}), remote: map[string]sources.Set{}}
	if m.nick == "" {
		m.nick = xmpp.NewID()[:8]
	}
	m.features = slices.Clone(opts.Features)
	if opts.Features == nil {
		m.features = DefaultFeatures()
	}
	if opts.JSONSources && !slices.Contains(m.features, FeatureJSONSources) {
		m.features = append(m.features, FeatureJSONSources)
	}
	if opts.Sources != nil {
		m.local = opts.Sources.Clone()
	} else {
		m.local = defaultSources(m.nick, opts.Simulcast, opts.RTX)
	}
	if m.opts.RequestTimeout <= 0 {
		m.opts.RequestTimeout = 10 * time.Second
	}
	m.transport = newLocalTransport(opts.Port)
	return m
}

// Close stops answering: IQs go back to the client's defaults.
func (m *Media) Close() { m.c.SetIQHandler(nil) }

// Nick is the endpoint's nickname.
func (m *Media) Nick() string { return m.nick }

// Caps is the <c/> (XEP-0115) of the features the endpoint answers the
// focus's disco#info with, for its join presence.
func (m *Media) Caps() *xmpp.Element { return capsOf(m.features) }

// Transport is the endpoint's own ICE/DTLS transport.
func (m *Media) Transport() *xmpp.JingleICETransport { return m.transport.Clone() }

// LocalSources returns the endpoint's own sources.
func (m *Media) LocalSources() sources.Set {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.local.Clone()
}

// SSRCs returns the SSRCs of the endpoint's own sources.
func (m *Media) SSRCs() []int64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.local.SSRCs("")
}

// Owner is how the endpoint's sources are tagged in the current session,
// room@muc/nick (the room being where the offer came from), or "" before
// the first offer.
func (m *Media) Owner() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	s := m.currentLocked()
	if s == nil {
		return ""
	}
	return ownerFor(s.offer.From, m.nick)
}

// ownerFor is room@muc/nick for an offer from room@muc/focus.
func ownerFor(from, nick string) string {
	bare, _, _ := strings.Cut(from, "/")
	if bare == "" {
		return nick
	}
	return bare + "/" + nick
}

// SID is the id of the current session, or "".
func (m *Media) SID() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	if s := m.currentLocked(); s != nil {
		return s.offer.SID
	}
	return ""
}

// Sessions is how many session-initiates were received.
func (m *Media) Sessions() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.sessions)
}

// Session returns the offer of the current session, if any.
func (m *Media) Session() (Offer, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if s := m.currentLocked(); s != nil {
		return s.offer, true
	}
	return Offer{}, false
}

// Ended reports whether the current session is over (terminated by either
// side, or rejected); false when there is none.
func (m *Media) Ended() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	s := m.currentLocked()
	return s != nil && s.ended
}

// Actions returns the action of every Jingle request received, in order.
func (m *Media) Actions() []xmpp.JingleAction {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.actions)
}

// RemoteSources returns the other endpoints' sources as the focus signalled
// them in the current session, by owner.
func (m *Media) RemoteSources() map[string]sources.Set {
	m.mu.Lock()
	defer m.mu.Unlock()
	return cloneView(m.remote)
}

// RemoteTransport returns the focus's (the bridge's) latest transport: from
// the offer, a transport-replace or a transport-info.
func (m *Media) RemoteTransport() *xmpp.JingleICETransport {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.remoteTransport.Clone()
}

// AwaitSession returns the next session-initiate that no earlier call
// returned: the first call returns the first offer, even one received
// before the call; after a restart, the next call returns the new one.
func (m *Media) AwaitSession(ctx context.Context) (Offer, error) {
	var o Offer
	err := m.await(ctx, "session-initiate", func() bool {
		if m.awaited >= len(m.sessions) {
			return false
		}
		o = m.sessions[m.awaited].offer
		m.awaited++
		return true
	})
	return o, err
}

// AwaitTransportReplace returns the next transport-replace that no earlier
// call returned.
func (m *Media) AwaitTransportReplace(ctx context.Context) (Offer, error) {
	var o Offer
	err := m.await(ctx, "transport-replace", func() bool {
		if m.awaitedReplaces >= len(m.replaces) {
			return false
		}
		o = m.replaces[m.awaitedReplaces]
		m.awaitedReplaces++
		return true
	})
	return o, err
}

// AwaitAccepted waits for the focus's answer to the current session's
// session-accept: nil for a result, the stanza error (or timeout) otherwise.
// It fails at once when no session-accept was sent (Silent, RejectInitiate).
func (m *Media) AwaitAccepted(ctx context.Context) error {
	var s *mediaSession
	err := m.await(ctx, "session-accept answer", func() bool {
		s = m.currentLocked()
		return s != nil && (!s.acceptSent || s.acceptDone)
	})
	if err != nil {
		return err
	}
	if !s.acceptSent {
		return fmt.Errorf("session %s: no session-accept was sent", s.offer.SID)
	}
	return s.acceptErr
}

// AwaitEnded waits until the current session is over and returns the reason
// the focus gave in its session-terminate (nil when it came from us or had
// none).
func (m *Media) AwaitEnded(ctx context.Context) (*xmpp.JingleReason, error) {
	var reason *xmpp.JingleReason
	err := m.await(ctx, "session end", func() bool {
		s := m.currentLocked()
		if s == nil || !s.ended {
			return false
		}
		reason = s.endReason
		return true
	})
	return reason, err
}

// AwaitRemoteSources waits until match accepts the remote sources by owner,
// and returns them.
func (m *Media) AwaitRemoteSources(ctx context.Context, match func(map[string]sources.Set) bool) (map[string]sources.Set, error) {
	var view map[string]sources.Set
	err := m.await(ctx, "remote sources", func() bool {
		view = cloneView(m.remote)
		return match(view)
	})
	return view, err
}

// AwaitRemoteSSRC waits until the focus has signalled ssrc, of any owner.
func (m *Media) AwaitRemoteSSRC(ctx context.Context, ssrc int64) error {
	return m.await(ctx, fmt.Sprintf("remote ssrc %d", ssrc), func() bool { return viewHasSSRC(m.remote, ssrc) })
}

// AwaitRemoteSSRCGone waits until ssrc is no longer among the remote sources.
func (m *Media) AwaitRemoteSSRCGone(ctx context.Context, ssrc int64) error {
	return m.await(ctx, fmt.Sprintf("removal of remote ssrc %d", ssrc), func() bool { return !viewHasSSRC(m.remote, ssrc) })
}

// await runs ready under the lock on every change until it reports true.
func (m *Media) await(ctx context.Context, what string, ready func() bool) error {
	for {
		m.mu.Lock()
		ok := ready()
		changed := m.changed
		m.mu.Unlock()
		if ok {
			return nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return fmt.Errorf("awaiting %s: %w", what, ctx.Err())
		}
	}
}

func (m *Media) notifyLocked() {
	close(m.changed)
	m.changed = make(chan struct{})
}

func (m *Media) currentLocked() *mediaSession {
	if len(m.sessions) == 0 {
		return nil
	}
	return m.sessions[len(m.sessions)-1]
}
