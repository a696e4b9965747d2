package conference

import (
	"slices"
	"strings"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"focal/auth"
	"focal/proto"
	"focal/visitors"
	"focal/xmpp"
)

// Authentication (Config.Auth, Jicofo's XMPP-domain authority). A request
// from a user logged in on the authenticated domain, with the browser's
// machine uid, opens a session; the browser, back on the guest domain,
// shows the session id with the same machine uid and is that user. The
// sessions live in the room's conference (replicated with it, gone with
// it, and expiring after the lifetime unused); authenticated members are
// made owners. Only an authenticated user creates a room: the directory
// refuses the others before a conference exists.

// waiter is a requester to answer once the focus is in the room, with
// what its authentication gave it.
type waiter struct {
	to       *actor.PID
	session  string
	identity string
	// visitor: what the request said about visitors; vnode: the visitor
	// node it named (a configured one).
	visitor visitors.Request
	vnode   string
	// pending is a request that came while the conference stood by, not
	// judged yet: the sessions it may show are in the state it drives from.
	pending *focalpb.ConferenceRequest
}

// authenticate checks a request against the room's sessions: it returns
// the session and identity to answer with, or the error to refuse with.
func (c *conference) authenticate(req *focalpb.ConferenceRequest, now time.Time) (w waiter, refused *focalpb.StanzaError) {
	c.expireSessions(now)
	if req.SessionId != "" {
		s := c.authSession(req.SessionId)
		if s == nil {
			return w, &focalpb.StanzaError{Type: xmpp.ErrorModify, Condition: xmpp.NotAcceptable, Text: "invalid session", SessionInvalid: true}
		}
		if req.MachineUid == "" || s.MachineUid != req.MachineUid {
			return w, &focalpb.StanzaError{Type: xmpp.ErrorModify, Condition: xmpp.NotAcceptable, Text: "machine UID mismatch or empty"}
		}
		if req.From != "" && !slices.Contains(s.Jids, req.From) {
			s.Jids = append(s.Jids, req.From)
		}
		s.LastUsedUnixMs = now.UnixMilli()
		return waiter{session: s.Id, identity: s.Identity}, nil
	}
	identity, ok := c.cfg.Auth.Identity(req.From)
	if !ok {
		return w, nil // a guest, in a room an authenticated user created
	}
	if req.MachineUid == "" {
		return w, &focalpb.StanzaError{Type: xmpp.ErrorModify, Condition: xmpp.NotAcceptable, Text: "Missing mandatory attribute 'machine-uid'"}
	}
	s := &focalpb.AuthSession{Id: auth.NewSessionID(c.room), MachineUid: req.MachineUid, Identity: identity, Jids: []string{req.From}, LastUsedUnixMs: now.UnixMilli()}
	c.st.AuthSessions = append(c.st.AuthSessions, s)
	c.log.Info("authentication session opened", "identity", identity)
	return waiter{session: s.Id, identity: identity}, nil
}

func (c *conference) authSession(id string) *focalpb.AuthSession {
	for _, s := range c.st.AuthSessions {
		if s.Id == id {
			return s
		}
	}
	return nil
}

// expireSessions drops the sessions unused for the lifetime.
func (c *conference) expireSessions(now time.Time) {
	lifetime := c.cfg.Auth.Lifetime
	if lifetime <= 0 {
		lifetime = auth.DefaultLifetime
	}
	c.st.AuthSessions = slices.DeleteFunc(c.st.AuthSessions, func(s *focalpb.AuthSession) bool {
		return now.Sub(time.UnixMilli(s.LastUsedUnixMs)) > lifetime
	})
}

// onLogout ends a session of the room.
func (c *conference) onLogout(ctx actor.Context, l *focalpb.Logout) {
	n := len(c.st.AuthSessions)
	c.st.AuthSessions = slices.DeleteFunc(c.st.AuthSessions, func(s *focalpb.AuthSession) bool { return s.Id == l.SessionId })
	var refused *focalpb.StanzaError
	if len(c.st.AuthSessions) == n {
		refused = &focalpb.StanzaError{Type: xmpp.ErrorModify, Condition: xmpp.NotAcceptable, Text: "invalid session", SessionInvalid: true}
	} else {
		c.log.Info("authentication session closed")
	}
	if ctx.Sender() != nil {
		ctx.Respond(&focalpb.ConferenceResponse{Room: c.room, Error: refused})
	}
}

// authenticated says whether a member is an authenticated user: logged in
// on the authenticated domain, or showing one of the room's sessions.
func (c *conference) authenticated(m *member) bool {
	if _, ok := c.cfg.Auth.Identity(m.RealJid); ok {
		return true
	}
	for _, s := range c.st.AuthSessions {
		if slices.Contains(s.Jids, m.RealJid) {
			return true
		}
	}
	return false
}

// grantAuthenticated makes an authenticated member owner, one at a time,
// instead of electing the first (Jicofo's authentication role manager).
func (c *conference) grantAuthenticated(ctx actor.Context) {
	for _, m := range c.membersInOrder() {
		if m.Affiliation != xmpp.AffiliationOwner && m.RealJid != "" && c.authenticated(m) {
			c.grantOwner(m)
			return
		}
	}
}

// bareOf is the bare part of a full JID.
func bareOf(full string) string {
	bare, _, _ := strings.Cut(full, "/")
	return bare
}
