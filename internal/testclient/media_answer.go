package testclient

import (
	"crypto/rand"
	"fmt"
	mrand "math/rand/v2"
	"slices"
	"strings"

	"focal/media/sources"
	"focal/xmpp"
)

// sctpPort is the SCTP port lib-jitsi-meet puts in its data content.
const sctpPort = 5000

// newLocalTransport returns a fresh ICE/DTLS transport: random credentials
// and fingerprint, the DTLS client role (setup active, as a browser answers
// the bridge's actpass) and one host candidate on loopback. No media flows;
// the focus only relays this to the bridge.
func newLocalTransport(port int) *xmpp.JingleICETransport {
	if port == 0 {
		port = 10000 + mrand.IntN(50000)
	}
	return &xmpp.JingleICETransport{
		Ufrag: xmpp.NewID()[:8],
		Pwd:   xmpp.NewID() + xmpp.NewID()[:6],
		Fingerprints: []xmpp.JingleFingerprint{{
			Hash: "sha-256", Setup: xmpp.JingleSetupActive, Value: randomFingerprint(),
		}},
		Candidates: []xmpp.JingleCandidate{{
			Component: 1, Foundation: "1", Generation: 0, ID: xmpp.NewID()[:10],
			IP: "127.0.0.1", Network: 1, Port: port, Priority: 2130706431,
			Protocol: "udp", Type: "host",
		}},
	}
}

// randomFingerprint is a SHA-256-sized fingerprint, "AB:CD:…".
func randomFingerprint() string {
	var b [32]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	parts := make([]string, len(b))
	for i, v := range b {
		parts[i] = fmt.Sprintf("%02X", v)
	}
	return strings.Join(parts, ":")
}

// answer is what an endpoint answers an offer with.
type answer struct {
	action       xmpp.JingleAction // session-accept or transport-accept
	responder    string            // our full JID
	owner        string            // room@muc/nick, on our sources
	sources      sources.Set
	transport    *xmpp.JingleICETransport
	initialLastN *int
}

// buildAnswer answers offer the way lib-jitsi-meet does: one content per
// offered content (created by the responder, senders both), each with the
// offered codecs and header extensions, our sources of its media tagged with
// our owner, and our transport; the data content gets the SCTP map instead
// of a description; a BUNDLE group over all of them.
func buildAnswer(offer Offer, a answer) *xmpp.Jingle {
	var base []xmpp.JingleContent
	offered := map[sources.Media]bool{}
	for _, oc := range offer.Contents {
		c := xmpp.JingleContent{
			Creator:   xmpp.JingleCreatorResponder,
			Name:      oc.Name,
			Senders:   xmpp.JingleSendersBoth,
			Transport: a.transport.Clone(),
		}
		media, isRTP := sources.MediaOf(&oc)
		switch {
		case isRTP:
			offered[media] = true
			c.Description = answerDescription(oc.Description, media)
			if media == sources.Video && a.initialLastN != nil {
				c.InitialLastN = &xmpp.Colibri2InitialLastN{Value: *a.initialLastN}
			}
		case oc.Name == xmpp.JingleContentData:
			port := sctpPort
			if oc.Transport != nil && oc.Transport.SCTPMap != nil {
				port = oc.Transport.SCTPMap.Number
			}
			c.Transport.SCTPMap = &xmpp.JingleSCTPMap{Number: port, Protocol: xmpp.JingleSCTPProtocolDataChannel}
		}
		base = append(base, c)
	}
	var mine sources.Set
	for _, s := range a.sources.Sources {
		if offered[s.Media] {
			mine.Sources = append(mine.Sources, s)
		}
	}
	for _, g := range a.sources.Groups {
		if offered[g.Media] {
			mine.Groups = append(mine.Groups, g)
		}
	}
	j := &xmpp.Jingle{
		Action:    a.action,
		SID:       offer.SID,
		Initiator: offer.Initiator,
		Responder: a.responder,
		Contents:  sources.JingleContentsWith(base, map[string]sources.Set{a.owner: mine}),
	}
	j.SetBundleGroup()
	return j
}

// answerDescription keeps the offered codecs and header extensions of d, and
// none of its sources (those are the other endpoints').
func answerDescription(d *xmpp.JingleRTPDescription, media sources.Media) *xmpp.JingleRTPDescription {
	out := &xmpp.JingleRTPDescription{Media: string(media), RTCPMux: &xmpp.JingleEmpty{}}
	if d != nil {
		out.PayloadTypes = slices.Clone(d.PayloadTypes)
		out.RTCPFeedback = slices.Clone(d.RTCPFeedback)
		out.HeaderExtensions = slices.Clone(d.HeaderExtensions)
		if d.ExtmapAllowMixed != nil {
			out.ExtmapAllowMixed = &xmpp.JingleEmpty{}
		}
	}
	return out
}

// answerFor builds our answer to offer with the given action.
func (m *Media) answerFor(offer Offer, action xmpp.JingleAction) *xmpp.Jingle {
	m.mu.Lock()
	local := m.local.Clone()
	m.mu.Unlock()
	return buildAnswer(offer, answer{
		action:       action,
		responder:    m.c.JID(),
		owner:        ownerFor(offer.From, m.nick),
		sources:      local,
		transport:    m.transport,
		initialLastN: m.opts.InitialLastN,
	})
}

// sendAccept sends the session-accept of s without waiting; the focus's
// answer is recorded for AwaitAccepted.
func (m *Media) sendAccept(s *mediaSession) {
	done := func(err error) {
		m.mu.Lock()
		defer m.mu.Unlock()
		s.acceptDone, s.acceptErr = true, err
		m.notifyLocked()
	}
	iq, err := jingleIQ(s.offer.From, m.answerFor(s.offer, xmpp.JingleSessionAccept))
	if err != nil {
		done(err)
		return
	}
	m.c.S.Request(iq, m.opts.RequestTimeout, func(_ *xmpp.Element, err error) {
		if err != nil {
			err = fmt.Errorf("session-accept of %s: %w", s.offer.SID, err)
		}
		done(err)
	})
}

// sendTransportAccept answers a transport-replace. Its answer is not
// recorded: the focus's view shows in what it does next.
func (m *Media) sendTransportAccept(offer Offer) {
	iq, err := jingleIQ(offer.From, m.answerFor(offer, xmpp.JingleTransportAccept))
	if err != nil {
		return
	}
	m.c.S.Request(iq, m.opts.RequestTimeout, func(*xmpp.Element, error) {})
}

// jingleIQ wraps j in an IQ set to to.
func jingleIQ(to string, j *xmpp.Jingle) (*xmpp.Element, error) {
	el, err := xmpp.ElementOf(j)
	if err != nil {
		return nil, fmt.Errorf("build %s: %w", j.Action, err)
	}
	return xmpp.NewIQ(xmpp.IQSet, "", to, "", el), nil
}
