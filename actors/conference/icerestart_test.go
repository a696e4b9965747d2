package conference

import (
	"slices"
	"testing"

	"focal/xmpp"
)

// iceRestartFrom sends nick's session-info asking for an in-place ICE
// restart of its session sid on bridge session bridgeSession; it returns
// the IQ's id.
func (c *tconf) iceRestartFrom(nick, sid, bridgeSession string) string {
	c.t.Helper()
	return c.iqFrom(nick, &xmpp.Jingle{Action: xmpp.JingleSessionInfo, SID: sid,
		BridgeSession: &xmpp.JingleBridgeSession{ID: bridgeSession, ICERestart: true}})
}

// restartsICE matches a conference-modify asking for new ICE credentials
// of endpoint id, and nothing else of it.
func restartsICE(id string) func(*xmpp.Colibri2ConferenceModify) bool {
	return func(mod *xmpp.Colibri2ConferenceModify) bool {
		ep := mod.Endpoint(id)
		return ep != nil && !ep.Create && !ep.Expire && ep.Transport != nil && ep.Transport.ICERestart &&
			ep.Transport.ICE == nil && ep.Sources == nil
	}
}

// restartedTransport is the bridge's answer to an ICE restart of endpoint
// id: new credentials, ICE generation 1.
func restartedTransport(t testing.TB, id string) (*xmpp.Element, *xmpp.JingleICETransport) {
	t.Helper()
	ice := &xmpp.JingleICETransport{
		Ufrag: "restartedufrag", Pwd: "restarted-password-0123456789", ICEGeneration: 1,
		Fingerprints: []xmpp.JingleFingerprint{{Hash: "sha-256", Setup: xmpp.JingleSetupActPass, Value: "AC:58"}},
		Candidates: []xmpp.JingleCandidate{{Component: 1, Foundation: "1", Generation: 1, ID: "c1", IP: "10.0.0.5",
			Port: 10000, Priority: 2130706431, Protocol: "udp", Type: "host"}},
	}
	el, err := xmpp.ElementOf(xmpp.Colibri2ConferenceModified{Endpoints: []xmpp.Colibri2Endpoint{{
		ID: id, Transport: &xmpp.Colibri2Transport{ICE: ice, SCTP: &xmpp.Colibri2SCTP{Port: 5000, Role: xmpp.Colibri2SCTPRoleServer}},
	}}})
	if err != nil {
		t.Fatal(err)
	}
	return el, ice
}

// An in-place ICE restart is answered at once, asks the bridge for new ICE
// credentials of the endpoint, and gives them to the client in a
// transport-info of the same session: no new session, no new endpoint.
func TestICERestartSendsBridgesNewTransportInTransportInfo(t *testing.T) {
	h := newHarness(t)
	c := h.joined("room1@conference." + testDomain)
	sids := twoInCall(t, c)
	session := c.snapshot().Bridges[0].Session

	id := c.iceRestartFrom("alice", sids["alice"], session)
	c.awaitResult(id, "the ICE restart request")
	it := c.bridgeWire.awaitRequest(t, "alice's ICE restart", colibriTo(jvb1, restartsICE("alice")))
	answer, ice := restartedTransport(t, "alice")
	it.result(answer)

	req := c.wire.awaitRequest(t, "transport-info to alice", jingleTo(c.occupant("alice"), xmpp.JingleTransportInfo))
	req.result(nil)
	j := jingleOf(req.el)
	if j.SID != sids["alice"] {
		t.Errorf("transport-info of session %q, want alice's %q", j.SID, sids["alice"])
	}
	var names []string
	for _, content := range j.Contents {
		names = append(names, content.Name)
		tr := content.Transport
		if tr == nil || tr.Ufrag != ice.Ufrag || tr.Pwd != ice.Pwd || tr.ICEGeneration != 1 || len(tr.Candidates) != 1 {
			t.Errorf("content %s's transport %+v, want the bridge's new one (generation 1)", content.Name, tr)
		}
		if content.Description != nil {
			t.Errorf("content %s carries a description", content.Name)
		}
	}
	if !slices.Contains(names, xmpp.JingleContentAudio) || !slices.Contains(names, xmpp.JingleContentVideo) {
		t.Errorf("transport-info contents %v, want audio and video at least", names)
	}
	c.nothingMore("after the ICE restart")
	m, _ := c.snapshot().member("alice")
	if m.Bridge != jvb1 || m.JingleState != "active" {
		t.Errorf("alice after the ICE restart: %+v, want still active on jvb1", m)
	}
	h.syncBrewery()
	if more := h.brewery.q.pending(); len(more) != 0 {
		t.Errorf("Selects after the ICE restart: %v", more)
	}
}

// An ICE restart of a bridge session that is not the participant's
// current one is refused with item-not-found, and the bridge is not asked.
func TestICERestartWithStaleBridgeSessionIsItemNotFound(t *testing.T) {
	h := newHarness(t)
	c := h.joined("room1@conference." + testDomain)
	sids := twoInCall(t, c)

	id := c.iceRestartFrom("alice", sids["alice"], "stale-session")
	if cond := c.awaitError(id, "the stale ICE restart"); cond != xmpp.ItemNotFound {
		t.Fatalf("ICE restart of a stale bridge session: %s, want item-not-found", cond)
	}
	c.nothingMore("after the stale ICE restart")
}

// A second ICE restart within 5 s of the first is refused with
// resource-constraint; the bridge is asked only once. (As for
// TestRestartTwiceWithinFiveSecondsIsRateLimited, this relies on real
// time; the limits themselves are actors/participant's TestRestartLimit.)
func TestICERestartTwiceWithinFiveSecondsIsRateLimited(t *testing.T) {
	h := newHarness(t)
	c := h.joined("room1@conference." + testDomain)
	sids := twoInCall(t, c)
	session := c.snapshot().Bridges[0].Session

	c.awaitResult(c.iceRestartFrom("alice", sids["alice"], session), "the first ICE restart")
	it := c.bridgeWire.awaitRequest(t, "alice's ICE restart", colibriTo(jvb1, restartsICE("alice")))
	answer, _ := restartedTransport(t, "alice")
	it.result(answer)
	c.wire.awaitRequest(t, "transport-info to alice", jingleTo(c.occupant("alice"), xmpp.JingleTransportInfo)).result(nil)

	id := c.iceRestartFrom("alice", sids["alice"], session)
	if cond := c.awaitError(id, "the second ICE restart"); cond != xmpp.ResourceConstraint {
		t.Fatalf("second ICE restart within 5 s: %s, want resource-constraint", cond)
	}
	c.nothingMore("after the refused ICE restart")
	if m, _ := c.snapshot().member("alice"); m.Bridge != jvb1 || m.JingleState != "active" {
		t.Errorf("alice after the refused ICE restart: %+v, want still active on jvb1", m)
	}
}

// A bridge that answers an ICE restart without the endpoint's transport
// declined it: the participant gets a new session on a new endpoint, as
// for a restart.
func TestICERestartDeclinedByBridgeReinvites(t *testing.T) {
	h := newHarness(t)
	c := h.joined("room1@conference." + testDomain)
	sids := twoInCall(t, c)
	session := c.snapshot().Bridges[0].Session

	c.awaitResult(c.iceRestartFrom("alice", sids["alice"], session), "the ICE restart request")
	it := c.bridgeWire.awaitRequest(t, "alice's ICE restart", colibriTo(jvb1, restartsICE("alice")))
	empty, err := xmpp.ElementOf(xmpp.Colibri2ConferenceModified{Endpoints: []xmpp.Colibri2Endpoint{{ID: "alice"}}})
	if err != nil {
		t.Fatal(err)
	}
	it.result(empty)

	c.bridgeWire.awaitRequest(t, "alice's old endpoint expired", colibriTo(jvb1, expiresEndpoint("alice"))).result(nil)
	c.answerSelect(jvb1)
	c.allocate("alice", jvb1)
	term := c.wire.awaitRequest(t, "alice's old session terminated", jingleTo(c.occupant("alice"), xmpp.JingleSessionTerminate))
	term.result(nil)
	if j := jingleOf(term.el); j.SID != sids["alice"] {
		t.Errorf("terminated %q, want alice's session %q", j.SID, sids["alice"])
	}
	if offer := c.awaitInitiate("alice"); offer.SID == sids["alice"] {
		t.Errorf("the re-invite has the old sid")
	}
	for _, it := range c.wire.q.pending() {
		if j := jingleOf(it.el); j != nil && j.Action == xmpp.JingleTransportInfo {
			t.Errorf("transport-info after a declined ICE restart: %s", it)
		}
	}
}

// With ICE restarts off (Jicofo's enable-ice-restart=false) the request is
// refused with feature-not-implemented and nothing else happens.
func TestICERestartDisabledIsFeatureNotImplemented(t *testing.T) {
	h := newHarness(t, func(cfg *Config) { cfg.ICERestart = false })
	c := h.joined("room1@conference." + testDomain)
	sids := twoInCall(t, c)
	session := c.snapshot().Bridges[0].Session

	id := c.iceRestartFrom("alice", sids["alice"], session)
	if cond := c.awaitError(id, "the ICE restart with ICE restarts off"); cond != xmpp.FeatureNotImplemented {
		t.Fatalf("ICE restart when disabled: %s, want feature-not-implemented", cond)
	}
	c.nothingMore("after the refused ICE restart")
}
