package bridge

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"focal/actors/await"
	"focal/media/sources"
	"focal/xmpp"
	"focal/xmpp/session"
)

// ColibriConfig describes one conference's session on one bridge.
type ColibriConfig struct {
	Bridge string // brewery occupant JID of the bridge: who it is
	// Address is where requests go, the bridge's own JID, when the
	// brewery shows it; Wire is then the conference's shard session, so
	// that a node that lost the session can send the bridge nothing more
	// (the server lets one connection hold a session), and a handover
	// orders the old driver's requests before the new one's. Without it
	// requests go to Bridge, which only an occupant of the brewery may
	// address: Wire is then the node's own session.
	Address   string
	MeetingID string
	Room      string // sent as the conference name on create
	// RTCStatsDisabled tells the bridge not to send stats to rtcstats
	// (the bridge's default is on; Jicofo only ever sends false).
	RTCStatsDisabled bool
	Timeout          time.Duration
	Wire             session.Wire
	Logger           *slog.Logger
	// Resume carries on a session another node created: the conference
	// exists on the bridge with these endpoints, so nothing is re-created.
	Resume    bool
	Endpoints []string
}

// colibriSession is the actor for one conference's media on one bridge (a
// child of the conference): it creates the conference there with the first
// endpoint, allocates, updates and expires endpoints. It keeps the order of its requests, which the
// bridge answers in order.
type colibriSession struct {
	cfg     ColibriConfig
	id      string
	log     *slog.Logger
	self    *actor.PID
	root    *actor.RootContext
	created bool // the create request was sent and not refused
	failed  bool
	// endpoints allocated (or being allocated) on the bridge.
	endpoints map[string]bool
}

// to is where the session's requests go.
func (c ColibriConfig) to() string {
	if c.Address != "" {
		return c.Address
	}
	return c.Bridge
}

// NewColibriSession returns the props of a colibri session. id is the
// session's id, which participants get as <bridge-session id/>.
func NewColibriSession(cfg ColibriConfig, id string) *actor.Props {
	if cfg.Timeout == 0 {
		cfg.Timeout = 15 * time.Second
	}
	return actor.PropsFromProducer(func() actor.Actor {
		s := &colibriSession{
			cfg:       cfg,
			id:        id,
			log:       cfg.Logger.With("bridge", cfg.Bridge, "bridge_session", id),
			endpoints: make(map[string]bool),
			created:   cfg.Resume,
		}
		for _, ep := range cfg.Endpoints {
			s.endpoints[ep] = true
		}
		return s
	})
}

// colibriResponse is a bridge's answer to one request of the session.
type colibriResponse struct {
	endpoint   string
	allocate   bool
	iceRestart bool                          // an in-place ICE restart of endpoint
	mod        xmpp.Colibri2ConferenceModify // what was asked, to ask again
	attempt    int
	res        *xmpp.Element
	err        error
}

// colibriRetry re-sends a request that could not reach the bridge.
type colibriRetry struct{ r colibriResponse }

// Requests that fail because the node's own stream to the server is down
// (the bridge never saw them) are sent again once it may be back, this
// often and this many times, rather than taken as the bridge failing.
const (
	colibriRetryInterval = 250 * time.Millisecond
	colibriRetries       = 40
)

func (s *colibriSession) Receive(ctx actor.Context) {
	switch msg := ctx.Message().(type) {
	case *actor.Started:
		s.self, s.root = ctx.Self(), ctx.ActorSystem().Root
	case *Allocate:
		s.allocate(msg)
	case *UpdateEndpoint:
		s.update(msg)
	case *RestartICE:
		s.restartICE(msg.Endpoint)
	case *ExpireEndpoint:
		s.expireEndpoint(msg.Endpoint)
	case *UseWire:
		s.cfg.Wire = msg.Wire
	case colibriRetry:
		if !s.failed {
			r := msg.r
			r.attempt++
			s.request(r)
		}
	case colibriResponse:
		s.onResponse(ctx, msg)
	case *await.Barrier:
		ctx.Respond(msg)
	}
}

func (s *colibriSession) allocate(a *Allocate) {
	ep := xmpp.Colibri2Endpoint{
		ID:           a.Endpoint,
		Create:       true,
		StatsID:      a.StatsID,
		Media:        a.Media,
		Transport:    &xmpp.Colibri2Transport{ICEControlling: true},
		Capabilities: []xmpp.Colibri2Capability{{Name: xmpp.Colibri2CapSourceNames}},
	}
	if a.SCTP {
		ep.Transport.SCTP = &xmpp.Colibri2SCTP{}
	}
	if !a.Sources.Empty() {
		ep.Sources = a.Sources.Colibri2Sources(a.Endpoint)
	}
	if a.Visitor {
		ep.MUCRole = xmpp.Colibri2MUCRoleVisitor
	}
	if a.ForceMute != nil {
		fm := *a.ForceMute
		ep.ForceMute = &fm
	}
	s.endpoints[a.Endpoint] = true
	s.send(xmpp.Colibri2ConferenceModify{Endpoints: []xmpp.Colibri2Endpoint{ep}}, a.Endpoint, true)
}

func (s *colibriSession) update(u *UpdateEndpoint) {
	if !s.endpoints[u.Endpoint] {
		return
	}
	ep := xmpp.Colibri2Endpoint{ID: u.Endpoint}
	if u.Transport != nil {
		ep.Transport = &xmpp.Colibri2Transport{ICE: u.Transport.Clone()}
	}
	if u.Sources != nil {
		ep.Sources = u.Sources.Colibri2Sources(u.Endpoint)
		if ep.Sources == nil {
			// No sources left: an empty element says so.
			ep.Sources = &xmpp.Colibri2Sources{}
		}
	}
	if u.InitialLastN != nil {
		ep.InitialLastN = &xmpp.Colibri2InitialLastN{Value: *u.InitialLastN}
	}
	if u.ForceMute != nil {
		fm := *u.ForceMute
		ep.ForceMute = &fm
	}
	s.send(xmpp.Colibri2ConferenceModify{Endpoints: []xmpp.Colibri2Endpoint{ep}}, u.Endpoint, false)
}

// restartICE asks the bridge for new ICE credentials of an endpoint
// (<transport ice-restart='true'/>); the answer is an ICERestarted.
func (s *colibriSession) restartICE(id string) {
	if !s.endpoints[id] {
		return
	}
	ep := xmpp.Colibri2Endpoint{ID: id, Transport: &xmpp.Colibri2Transport{ICERestart: true}}
	s.sendRequest(colibriResponse{mod: xmpp.Colibri2ConferenceModify{Endpoints: []xmpp.Colibri2Endpoint{ep}}, endpoint: id, iceRestart: true})
}

func (s *colibriSession) expireEndpoint(id string) {
	if !s.endpoints[id] {
		return
	}
	delete(s.endpoints, id)
	s.send(xmpp.Colibri2ConferenceModify{Endpoints: []xmpp.Colibri2Endpoint{{ID: id, Expire: true}}}, id, false)
}

// ExpireConferenceIQ is the request that ends a conference on a bridge.
// The conference sends it itself when it ends: stopping a colibri session
// actor does not expire anything, because a conference handed over to
// another node stops its actors and keeps its media.
func ExpireConferenceIQ(bridgeJID, meetingID string) *xmpp.Element {
	payload := xmpp.NewElement(xmpp.Colibri2NS, "conference-modify", "meeting-id", meetingID, "expire", "true")
	return colibriIQ(bridgeJID, payload)
}

// colibriIQ is a Colibri2 request to a bridge, without an id: the session
// that sends it gives it one that names the node (session.Config.IDPrefix),
// which the bridge cannot tell from the address of a shard session that
// moved between nodes.
func colibriIQ(to string, payload *xmpp.Element) *xmpp.Element {
	return xmpp.NewElement("", xmpp.KindIQ, "type", xmpp.IQGet, "to", to).Append(payload)
}

// send sends a conference-modify; the first one of the session creates the
// conference.
func (s *colibriSession) send(mod xmpp.Colibri2ConferenceModify, endpoint string, allocate bool) {
	s.sendRequest(colibriResponse{mod: mod, endpoint: endpoint, allocate: allocate})
}

// sendRequest sends r.mod, the request r describes.
func (s *colibriSession) sendRequest(r colibriResponse) {
	r.mod.MeetingID = s.cfg.MeetingID
	if !s.created {
		r.mod.Create, r.mod.Name = true, s.cfg.Room
		if s.cfg.RTCStatsDisabled {
			f := false
			r.mod.RTCStatsEnabled = &f
		}
		s.created = true
	}
	s.request(r)
}

// request sends r.mod (attempt r.attempt); the answer comes back as r with
// res and err set.
func (s *colibriSession) request(r colibriResponse) {
	el, err := xmpp.ElementOf(r.mod)
	if err != nil {
		s.log.Error("build conference-modify", "err", err)
		return
	}
	self, root := s.self, s.root
	s.cfg.Wire.Request(colibriIQ(s.cfg.to(), el), s.cfg.Timeout,
		func(res *xmpp.Element, err error) {
			r.res, r.err = res, err
			root.Send(self, r)
		})
}

func (s *colibriSession) onResponse(ctx actor.Context, r colibriResponse) {
	if s.failed {
		return // the conference already dropped this session
	}
	if r.err != nil && !(r.iceRestart && errors.Is(r.err, session.ErrTimeout)) {
		s.onError(ctx, r)
		return
	}
	if r.iceRestart {
		s.onICERestarted(ctx, r)
		return
	}
	if !r.allocate {
		return
	}
	var mod xmpp.Colibri2ConferenceModified
	payload := r.res.Child(xmpp.Colibri2NS, "conference-modified")
	if payload == nil {
		s.fail(ctx, r.endpoint, errors.New("allocation answered without conference-modified"), ScopeSession, true)
		return
	}
	if err := payload.Decode(&mod); err != nil {
		s.fail(ctx, r.endpoint, fmt.Errorf("malformed conference-modified: %w", err), ScopeSession, true)
		return
	}
	out := &Allocated{Bridge: s.cfg.Bridge, Session: s.id, Endpoint: r.endpoint}
	if ep := mod.Endpoint(r.endpoint); ep != nil && ep.Transport != nil {
		out.Transport = ep.Transport.ICE
		if ep.Transport.SCTP != nil {
			out.SCTPPort = ep.Transport.SCTP.Port
		}
	}
	if out.Transport == nil {
		s.fail(ctx, r.endpoint, errors.New("allocation answered without a transport"), ScopeSession, true)
		return
	}
	if mod.Sources != nil {
		fb, err := sources.FromColibri2(mod.Sources, true)
		if err != nil {
			s.log.Warn("ignoring malformed feedback sources", "err", err)
		} else {
			out.Feedback = fb
		}
	}
	ctx.Send(ctx.Parent(), out)
}

// onICERestarted reports the bridge's answer to an ICE restart. An answer
// without the endpoint's transport means the bridge declined; so does a
// timeout (the client waits for new credentials): the conference falls
// back to a re-invite. Errors are otherwise those of any update (onError).
func (s *colibriSession) onICERestarted(ctx actor.Context, r colibriResponse) {
	out := &ICERestarted{Bridge: s.cfg.Bridge, Session: s.id, Endpoint: r.endpoint}
	if r.err == nil {
		var mod xmpp.Colibri2ConferenceModified
		if payload := r.res.Child(xmpp.Colibri2NS, "conference-modified"); payload != nil && payload.Decode(&mod) == nil {
			if ep := mod.Endpoint(r.endpoint); ep != nil && ep.Transport != nil && ep.Transport.ICE != nil {
				out.Transport = ep.Transport.ICE
				if ep.Transport.SCTP != nil {
					out.SCTPPort = ep.Transport.SCTP.Port
				}
			}
		}
	}
	if out.Transport == nil {
		s.log.Warn("bridge did not restart ICE", "endpoint", r.endpoint, "err", r.err)
	}
	ctx.Send(ctx.Parent(), out)
}

// onError applies Jicofo's rules for a failed request: what the failure
// says about the bridge decides whether only this request, this endpoint or
// the whole session is lost, and whether the bridge is avoided for a while.
func (s *colibriSession) onError(ctx actor.Context, r colibriResponse) {
	if errors.Is(r.err, session.ErrTimeout) {
		if !r.allocate {
			return // updates that time out are not worth a move
		}
		s.fail(ctx, r.endpoint, fmt.Errorf("bridge did not answer: %w", r.err), ScopeSession, true)
		return
	}
	var se xmpp.StanzaError
	if !errors.As(r.err, &se) {
		// The node's stream to the server is down, not the bridge: ask
		// again once it may be back.
		if r.attempt < colibriRetries {
			self, root := s.self, s.root
			time.AfterFunc(colibriRetryInterval, func() { root.Send(self, colibriRetry{r}) })
			return
		}
		s.fail(ctx, r.endpoint, r.err, ScopeSession, false)
		return
	}
	reason, endpoint := colibriReason(r.res)
	if se.Condition == xmpp.Conflict && reason == xmpp.Colibri2ConferenceAlreadyExists && r.mod.Create {
		// Meeting ids are this conference's own: the bridge has it already
		// (a create that reached it before our stream dropped, say).
		// Carry on with it rather than start over into the same conflict.
		s.log.Info("bridge has the conference already; carrying on with it")
		r.mod.Create, r.mod.Name, r.mod.RTCStatsEnabled = false, "", nil
		r.attempt++
		s.request(r)
		return
	}
	scope, markFailed := classify(se.Condition, reason, r.allocate)
	if scope == ScopeEndpoint && endpoint != "" {
		r.endpoint = endpoint
	}
	if r.mod.Create && scope == ScopeRequest {
		// The bridge refused the request that was to create the
		// conference: it has none, so the next request creates it.
		s.created = false
	}
	s.fail(ctx, r.endpoint, fmt.Errorf("bridge refused (%s %s): %w", se.Condition, reason, r.err), scope, markFailed)
}

// classify maps a bridge error onto what is lost (Jicofo's handleResponse
// for allocations, sendRequest for the rest).
func classify(condition string, reason xmpp.Colibri2ErrorReason, allocate bool) (Scope, bool) {
	if !allocate {
		if reason == xmpp.Colibri2UnknownEndpoint {
			return ScopeEndpoint, false
		}
		return ScopeSession, false
	}
	switch condition {
	case xmpp.BadRequest:
		return ScopeRequest, false
	case xmpp.ItemNotFound:
		if reason == xmpp.Colibri2ConferenceNotFound {
			return ScopeSession, false
		}
		return ScopeRequest, false
	case xmpp.Conflict:
		return ScopeSession, false
	case xmpp.ServiceUnavailable:
		if reason == xmpp.Colibri2GracefulShutdown {
			return ScopeSession, false // deprioritised by its presence, not failed
		}
	}
	return ScopeSession, true
}

// colibriReason reads the colibri2 reason and endpoint of an error response.
func colibriReason(res *xmpp.Element) (xmpp.Colibri2ErrorReason, string) {
	if res == nil {
		return "", ""
	}
	errEl := res.Child(res.Name.Space, "error")
	if errEl == nil {
		return "", ""
	}
	var ce xmpp.Colibri2StanzaError
	if err := errEl.Decode(&ce); err != nil || ce.Colibri2 == nil {
		return "", ""
	}
	ep := ""
	if ce.Endpoint != nil {
		ep = ce.Endpoint.ID
	}
	return ce.Colibri2.ParsedReason(), ep
}

func (s *colibriSession) fail(ctx actor.Context, endpoint string, err error, scope Scope, markFailed bool) {
	s.log.Warn("colibri request failed", "endpoint", endpoint, "scope", scope.String(), "err", err)
	if scope == ScopeSession {
		s.failed = true
	}
	if scope != ScopeRequest {
		delete(s.endpoints, endpoint)
	}
	ctx.Send(ctx.Parent(), &ColibriFailed{
		Bridge: s.cfg.Bridge, Session: s.id, Endpoint: endpoint,
		Err: err, Scope: scope, MarkFailed: markFailed,
	})
}
