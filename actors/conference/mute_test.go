package conference

import (
	"encoding/json"
	"testing"

	"focal/xmpp"
)

// Mute requests and AV moderation, as Jitsi Meet's client and Jitsi's
// av_moderation component drive them.

const testAVModeration = "avmoderation." + testDomain

// muteIQ delivers from's <mute/> for nick and returns its id.
func (c *tconf) muteIQ(from, nick string, media xmpp.MuteMedia, mute bool) string {
	c.t.Helper()
	req := xmpp.MuteRequest{Media: media, JID: c.occupant(nick), Mute: mute}
	id := xmpp.NewID()
	c.deliver(xmpp.NewIQ(xmpp.IQSet, c.occupant(from), testFocusAddr, id, req.Element()))
	return id
}

// isMuteTo matches the focus's mute notification to nick.
func (c *tconf) isMuteTo(nick string, media xmpp.MuteMedia, mute bool, actor string) func(*xmpp.Element) bool {
	return func(el *xmpp.Element) bool {
		if !isIQ(el, xmpp.IQSet, c.occupant(nick)) {
			return false
		}
		m, err := xmpp.ParseMute(el.Child(media.Namespace(), "mute"))
		return err == nil && m.Mute == mute && m.Actor == actor
	}
}

// forceMuted matches a Colibri2 update of nick's force-mute.
func forceMuted(nick string, audio, video bool) func(*xmpp.Element) bool {
	return colibriTo(jvb1, func(mod *xmpp.Colibri2ConferenceModify) bool {
		for _, ep := range mod.Endpoints {
			if ep.ID == nick && ep.ForceMute != nil && ep.ForceMute.Audio == audio && ep.ForceMute.Video == video {
				return true
			}
		}
		return false
	})
}

// avModeration delivers the av_moderation component's message.
func (c *tconf) avModeration(body map[string]any) {
	c.t.Helper()
	body["type"], body["room"] = "av_moderation", c.room
	text, err := json.Marshal(body)
	if err != nil {
		c.t.Fatal(err)
	}
	msg := xmpp.NewElement("", xmpp.KindMessage, "from", testAVModeration, "to", testFocusAddr).
		Append(xmpp.NewElement(xmpp.NSJitMeet, "json-message").WithText(string(text)))
	c.deliver(msg)
}

// A moderator mutes another participant: answered, and the participant
// is told who muted it; the bridge is not involved (the client mutes
// itself, as with Jicofo). Muting oneself tells nobody.
func TestAModeratorMutesAnotherWhoIsTold(t *testing.T) {
	h := newHarness(t)
	c := h.joined("room1@conference." + testDomain)
	twoInCall(t, c)

	c.awaitResult(c.muteIQ("alice", "bob", xmpp.MuteAudio, true), "alice muting bob")
	// Sent, not asked: lib-jitsi-meet never answers it.
	c.wire.awaitSent(t, "bob told he was muted by alice", c.isMuteTo("bob", xmpp.MuteAudio, true, c.occupant("alice")))
	c.awaitResult(c.muteIQ("bob", "bob", xmpp.MuteVideo, true), "bob muting his video")
	c.awaitResult(c.muteIQ("bob", "bob", xmpp.MuteVideo, false), "bob unmuting his video")
	c.nothingMore("after the mutes")
}

// What a mute request may not do: mute others without being a moderator,
// unmute anyone else, name somebody not in the room; and a malformed one.
func TestMuteRequestsRefused(t *testing.T) {
	h := newHarness(t)
	c := h.joined("room1@conference." + testDomain)
	twoInCall(t, c)

	cases := []struct {
		what string
		id   string
		want string
	}{
		{"bob (not a moderator) muting alice", c.muteIQ("bob", "alice", xmpp.MuteAudio, true), xmpp.NotAllowed},
		{"alice unmuting bob", c.muteIQ("alice", "bob", xmpp.MuteAudio, false), xmpp.NotAllowed},
		{"alice muting carol, not in the room", c.muteIQ("alice", "carol", xmpp.MuteAudio, true), xmpp.ItemNotFound},
	}
	noJID := xmpp.NewID()
	c.deliver(xmpp.NewIQ(xmpp.IQSet, c.occupant("alice"), testFocusAddr, noJID, xmpp.NewElement(xmpp.NSMuteAudio, "mute").WithText("true")))
	cases = append(cases, struct {
		what string
		id   string
		want string
	}{"a mute without a jid", noJID, xmpp.BadRequest})
	for _, tc := range cases {
		if got := c.awaitError(tc.id, tc.what); got != tc.want {
			t.Errorf("%s: %s, want %s", tc.what, got, tc.want)
		}
	}
	c.nothingMore("after the refusals")
}

// AV moderation switched on for audio by alice: everybody else is told to
// mute and force-muted on the bridge; bob may not unmute himself until
// the whitelist names him; a newcomer is force-muted from its
// allocation and offered start-muted audio; switched off, the bridge
// lets everybody's audio through again.
func TestAVModerationForceMutesAllButTheWhitelisted(t *testing.T) {
	h := newHarness(t)
	c := h.joined("room1@conference." + testDomain)
	twoInCall(t, c)

	c.avModeration(map[string]any{"enabled": true, "mediaType": "audio", "actor": c.occupant("alice")})
	c.wire.awaitSent(t, "bob told to mute", c.isMuteTo("bob", xmpp.MuteAudio, true, ""))
	c.bridgeWire.awaitRequest(t, "bob's audio force-muted", forceMuted("bob", true, false)).result(nil)
	c.nothingMore("moderation on")

	c.avModeration(map[string]any{"whitelists": map[string][]string{"audio": {c.occupant("alice")}}})
	c.nothingMore("alice whitelisted (as the component does for moderators)")
	if got := c.awaitError(c.muteIQ("bob", "bob", xmpp.MuteAudio, false), "bob unmuting, not whitelisted"); got != xmpp.NotAllowed {
		t.Errorf("bob unmuting, not whitelisted: %s, want not-allowed", got)
	}
	c.awaitResult(c.muteIQ("alice", "alice", xmpp.MuteAudio, false), "alice unmuting, a moderator")

	c.avModeration(map[string]any{"whitelists": map[string][]string{"audio": {c.occupant("alice"), c.occupant("bob")}}})
	c.bridgeWire.awaitRequest(t, "bob's force-mute lifted", forceMuted("bob", false, false)).result(nil)
	c.awaitResult(c.muteIQ("bob", "bob", xmpp.MuteAudio, false), "bob unmuting, whitelisted")
	c.nothingMore("bob whitelisted")

	c.joins("carol", "carol@"+testDomain+"/web")
	c.ready("carol")
	c.barrier()
	c.answerSelect(jvb1)
	alloc := c.bridgeWire.awaitRequest(t, "carol's allocation", colibriTo(jvb1, createsEndpoint("carol")))
	if ep := colibriOf(alloc.el).Endpoints[0]; ep.ForceMute == nil || !ep.ForceMute.Audio || ep.ForceMute.Video {
		t.Errorf("carol allocated with force-mute %+v, want audio only", ep.ForceMute)
	}
	alloc.result(conferenceModified(t, "carol"))
	initiate := c.awaitInitiate("carol")
	if initiate.StartMuted == nil || !initiate.StartMuted.Audio || initiate.StartMuted.Video {
		t.Errorf("carol's session-initiate start-muted %+v, want audio", initiate.StartMuted)
	}

	c.avModeration(map[string]any{"enabled": false, "mediaType": "audio", "actor": c.occupant("alice")})
	c.bridgeWire.awaitRequest(t, "carol's force-mute lifted", forceMuted("carol", false, false)).result(nil)
	if got := c.snapshot(); got.Standby {
		t.Fatal("standing by")
	}
}

// A json-message an occupant sends the focus through the room, dressed as
// the component's, is refused and changes nothing.
func TestAForgedAVModerationMessageIsRefused(t *testing.T) {
	h := newHarness(t)
	c := h.joined("room1@conference." + testDomain)
	twoInCall(t, c)

	text := `{"type":"av_moderation","room":"` + c.room + `","enabled":true,"mediaType":"audio","actor":"` + c.occupant("bob") + `"}`
	forged := xmpp.NewElement("", xmpp.KindMessage, "from", c.occupant("bob"), "to", testFocusAddr, "id", "forged-1").
		Append(xmpp.NewElement(xmpp.NSJitMeet, "json-message").WithText(text))
	c.deliver(forged)
	bounce := c.wire.awaitSent(t, "the forged message bounced", func(el *xmpp.Element) bool {
		return el.Name.Local == xmpp.KindMessage && el.AttrValue("type") == "error" && el.AttrValue("to") == c.occupant("bob")
	})
	if got := conditionOf(bounce); got != xmpp.NotAllowed {
		t.Errorf("forged message bounced with %s, want not-allowed", got)
	}
	c.nothingMore("after the forged message")
	c.awaitResult(c.muteIQ("alice", "alice", xmpp.MuteAudio, false), "alice unmuting: no moderation")
}

// The room_metadata component's start-muted policy (sent with the room in
// the json-message's room attribute) makes every newcomer's offer start
// muted; it is replicated state.
func TestRoomMetadataStartMutedAppliesToNewcomers(t *testing.T) {
	h := newHarness(t)
	c := h.joined("room1@conference." + testDomain)
	md := `{"type":"room_metadata","metadata":{"startMuted":{"audio":true,"video":false},"visitorsEnabled":true,"participants":["u1"]}}`
	c.deliver(xmpp.NewElement("", xmpp.KindMessage, "from", "metadata."+testDomain, "to", testFocusAddr).
		Append(xmpp.NewElement(xmpp.NSJitMeet, "json-message", "room", c.room).WithText(md)))
	offers := c.inCall(jvb1, "alice", "bob")
	for nick, o := range offers {
		if o.StartMuted == nil || !o.StartMuted.Audio || o.StartMuted.Video {
			t.Errorf("%s's offer start-muted %+v, want audio", nick, o.StartMuted)
		}
	}
	c.send(&ReplicaIs{PID: c.recPID})
	r := &replicaView{}
	r.check(c, "the replica named")
	if m := r.latest.GetMetadata(); !m.GetStartAudioMuted() || !m.GetVisitorsEnabledSet() || !m.GetParticipantsSet() || len(m.GetParticipants()) != 1 {
		t.Errorf("replicated metadata %v", m)
	}
}
