package testclient

import (
	"context"
	"fmt"

	"focal/media/sources"
	"focal/xmpp"
)

// The Send methods make the requests a Jitsi Meet client makes on its own in
// a session. Each waits for the focus's answer and returns its stanza error
// (wrapped; see xmpp.ConditionOf), a timeout, or nil.

// Accept sends the session-accept of the current session now, for a Silent
// endpoint that answers late, and waits for the focus's answer.
func (m *Media) Accept(ctx context.Context) error {
	m.mu.Lock()
	s := m.currentLocked()
	if s == nil || s.ended {
		m.mu.Unlock()
		return fmt.Errorf("session-accept: %w", ErrNoSession)
	}
	s.acceptSent, s.acceptDone, s.acceptErr = true, false, nil
	m.notifyLocked()
	m.mu.Unlock()
	m.sendAccept(s)
	return m.AwaitAccepted(ctx)
}

// SendSourceAdd signals new sources of ours. Once the focus accepted them
// they are among LocalSources.
func (m *Media) SendSourceAdd(ctx context.Context, set sources.Set) error {
	s, owner, err := m.session(xmpp.JingleSourceAdd)
	if err != nil {
		return err
	}
	j := &xmpp.Jingle{Action: xmpp.JingleSourceAdd, SID: s.offer.SID, Contents: set.JingleContents(owner)}
	if err := m.request(ctx, s.offer.From, j); err != nil {
		return err
	}
	m.mu.Lock()
	m.local = m.local.Union(set)
	m.mu.Unlock()
	return nil
}

// SourceAddIQ builds the source-add SendSourceAdd would send, without
// sending it or counting the sources as accepted: for a test that sends it
// itself and judges every answer it gets.
func (m *Media) SourceAddIQ(set sources.Set) (*xmpp.Element, error) {
	return m.sourcesIQ(xmpp.JingleSourceAdd, set)
}

// SourceRemoveIQ builds the source-remove SendSourceRemove would send,
// without sending it.
func (m *Media) SourceRemoveIQ(set sources.Set) (*xmpp.Element, error) {
	return m.sourcesIQ(xmpp.JingleSourceRemove, set)
}

func (m *Media) sourcesIQ(action xmpp.JingleAction, set sources.Set) (*xmpp.Element, error) {
	s, owner, err := m.session(action)
	if err != nil {
		return nil, err
	}
	return jingleIQ(s.offer.From, &xmpp.Jingle{Action: action, SID: s.offer.SID, Contents: set.JingleContents(owner)})
}

// SendSourceRemove signals that sources of ours are gone. Once the focus
// accepted that, they are no longer among LocalSources.
func (m *Media) SendSourceRemove(ctx context.Context, set sources.Set) error {
	s, owner, err := m.session(xmpp.JingleSourceRemove)
	if err != nil {
		return err
	}
	j := &xmpp.Jingle{Action: xmpp.JingleSourceRemove, SID: s.offer.SID, Contents: set.JingleContents(owner)}
	if err := m.request(ctx, s.offer.From, j); err != nil {
		return err
	}
	m.mu.Lock()
	view := map[string]sources.Set{"": m.local}
	removeSources(view, map[string]sources.Set{"": set})
	m.local = view[""]
	m.mu.Unlock()
	return nil
}

// SendTransportInfo sends t (nil: our own transport, candidates included) in
// one content per content of the offer, as trickle ICE does.
func (m *Media) SendTransportInfo(ctx context.Context, t *xmpp.JingleICETransport) error {
	s, _, err := m.session(xmpp.JingleTransportInfo)
	if err != nil {
		return err
	}
	if t == nil {
		t = m.transport
	}
	j := &xmpp.Jingle{Action: xmpp.JingleTransportInfo, SID: s.offer.SID, Initiator: s.offer.Initiator}
	for _, c := range s.offer.Contents {
		j.Contents = append(j.Contents, xmpp.JingleContent{
			Creator: xmpp.JingleCreatorResponder, Name: c.Name, Transport: t.Clone(),
		})
	}
	return m.request(ctx, s.offer.From, j)
}

// SendSessionInfoICEFailed reports that ICE failed, with the bridge session
// of the offer: the focus re-invites the endpoint.
func (m *Media) SendSessionInfoICEFailed(ctx context.Context) error {
	s, _, err := m.session(xmpp.JingleSessionInfo)
	if err != nil {
		return err
	}
	j := &xmpp.Jingle{
		Action:        xmpp.JingleSessionInfo,
		SID:           s.offer.SID,
		Initiator:     s.offer.Initiator,
		ICEState:      &xmpp.JingleICEState{State: xmpp.JingleICEStateFailed},
		BridgeSession: &xmpp.JingleBridgeSession{ID: s.offer.BridgeSessionID()},
	}
	return m.request(ctx, s.offer.From, j)
}

// SendSessionInfoICERestart asks for an in-place ICE restart
// (<bridge-session ice-restart='true'/>); the focus answers later with a
// transport-info carrying the bridge's new credentials.
func (m *Media) SendSessionInfoICERestart(ctx context.Context) error {
	s, _, err := m.session(xmpp.JingleSessionInfo)
	if err != nil {
		return err
	}
	j := &xmpp.Jingle{
		Action:        xmpp.JingleSessionInfo,
		SID:           s.offer.SID,
		Initiator:     s.offer.Initiator,
		BridgeSession: &xmpp.JingleBridgeSession{ID: s.offer.BridgeSessionID(), ICERestart: true},
	}
	return m.request(ctx, s.offer.From, j)
}

// SendTerminate ends the session (reason success). With restart, it carries
// <bridge-session restart='true'/>, which asks the focus for a new session.
// The session counts as ended from the moment it is sent, as for
// lib-jitsi-meet, so a new session-initiate may arrive before this returns.
func (m *Media) SendTerminate(ctx context.Context, restart bool) error {
	s, _, err := m.session(xmpp.JingleSessionTerminate)
	if err != nil {
		return err
	}
	j := &xmpp.Jingle{
		Action:    xmpp.JingleSessionTerminate,
		SID:       s.offer.SID,
		Initiator: s.offer.Initiator,
		Reason:    &xmpp.JingleReason{Condition: xmpp.JingleReasonSuccess},
	}
	if restart {
		j.Reason.Text = "restart required"
		j.BridgeSession = &xmpp.JingleBridgeSession{ID: s.offer.BridgeSessionID(), Restart: true}
	}
	m.mu.Lock()
	s.ended = true
	m.notifyLocked()
	m.mu.Unlock()
	return m.request(ctx, s.offer.From, j)
}

// session returns the current session and our owner tag in it, or
// ErrNoSession when there is none or it is over.
func (m *Media) session(action xmpp.JingleAction) (*mediaSession, string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	s := m.currentLocked()
	if s == nil || s.ended {
		return nil, "", fmt.Errorf("%s: %w", action, ErrNoSession)
	}
	return s, ownerFor(s.offer.From, m.nick), nil
}

// request sends j to to and waits for the answer.
func (m *Media) request(ctx context.Context, to string, j *xmpp.Jingle) error {
	iq, err := jingleIQ(to, j)
	if err != nil {
		return err
	}
	if _, err := m.c.S.RequestWait(ctx, iq); err != nil {
		return fmt.Errorf("%s of %s to %s: %w", j.Action, j.SID, to, err)
	}
	return nil
}
