package node_test

import (
	"context"
	"testing"
	"time"

	"focal/bench/bridgesim"
	"focal/internal/testclient"
	"focal/xmpp"
)

// muteRequest sends from's <mute/> for nick to the room's focus and
// returns the answer's error (nil: accepted).
func muteRequest(ctx context.Context, from *member, room, nick string, media xmpp.MuteMedia, mute bool) error {
	req := xmpp.MuteRequest{Media: media, JID: room + "/" + nick, Mute: mute}
	_, err := from.c.S.RequestWait(ctx, xmpp.NewIQ(xmpp.IQSet, "", room+"/focus", "", req.Element()))
	return err
}

// Mute through a real Prosody: the moderator (the first participant, made
// owner) mutes the other, who gets the focus's notification naming the
// moderator; the other may not mute the moderator, nor may anyone unmute
// someone else.
func TestModeratorMuteThroughTheRoom(t *testing.T) {
	h := newHarness(t, withBrewery)
	ctx := testContext(t, 30*time.Second)
	h.readyBridge(ctx, "jvb1", bridgesim.Stats{StressLevel: 0.1})
	room := h.room("mute")

	alice := h.join(ctx, room, "alice", testclient.MediaOptions{})
	bob := h.join(ctx, room, "bob", testclient.MediaOptions{})
	alice.awaitSession(ctx, t)
	bob.awaitSession(ctx, t)
	if _, err := alice.c.AwaitPresence(ctx, room, func(p xmpp.OccupantPresence) bool {
		return p.Nick == "alice" && p.Role == xmpp.RoleModerator
	}); err != nil {
		t.Fatalf("alice never became moderator: %v", err)
	}

	if err := muteRequest(ctx, alice, room, "bob", xmpp.MuteAudio, true); err != nil {
		t.Fatalf("alice muting bob: %v", err)
	}
	told, err := bob.c.Await(ctx, func(el *xmpp.Element) bool {
		m, err := xmpp.ParseMute(el.Child(xmpp.NSMuteAudio, "mute"))
		return err == nil && m.Mute && el.AttrValue("type") == xmpp.IQSet
	})
	if err != nil {
		t.Fatalf("bob was not told: %v", err)
	}
	if m, _ := xmpp.ParseMute(told.Child(xmpp.NSMuteAudio, "mute")); m.Actor != room+"/alice" || told.AttrValue("from") != room+"/focus" {
		t.Errorf("bob's notification %s: want from the focus, actor alice", told)
	}
	for _, tc := range []struct {
		what string
		err  error
	}{
		{"bob muting alice", muteRequest(ctx, bob, room, "alice", xmpp.MuteVideo, true)},
		{"alice unmuting bob", muteRequest(ctx, alice, room, "bob", xmpp.MuteAudio, false)},
	} {
		if xmpp.ConditionOf(tc.err) != xmpp.NotAllowed {
			t.Errorf("%s: %v, want not-allowed", tc.what, tc.err)
		}
	}
	if err := muteRequest(ctx, bob, room, "bob", xmpp.MuteAudio, false); err != nil {
		t.Errorf("bob unmuting himself: %v", err)
	}
}
