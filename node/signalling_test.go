package node_test

import (
	"slices"
	"testing"
	"time"

	"focal/actors/conference"
	"focal/bench/bridgesim"
	"focal/internal/testclient"
	"focal/node"
	"focal/xmpp"
)

// Through the real Prosody, in a conference whose source changes wait
// (source-signaling-delays) once it has 4 participants: alice, bob and
// carol, in a call of three, are told of each other's sources at once;
// then dave and erin join, and each of the three is told of both
// newcomers' sources in one source-add, merged, once the delay is over.
// The newcomers learn of everybody, from their offers and their own
// batches. alice reads sources as JSON (as lib-jitsi-meet), the others as
// ssma elements.
func TestNewcomersSourcesReachTheRoomBatched(t *testing.T) {
	const delay = 5 * time.Second
	h := newHarness(t, func(c *node.Config) {
		withBrewery(c)
		c.SourceSignalingDelays = conference.SignalingDelays{4: delay}
	})
	ctx := testContext(t, time.Minute)
	h.readyBridge(ctx, "jvb1", bridgesim.Stats{StressLevel: 0.1})
	room := h.room("batched")

	var early []*member
	for _, nick := range []string{"alice", "bob", "carol"} {
		early = append(early, h.join(ctx, room, nick, testclient.MediaOptions{JSONSources: nick == "alice"}))
	}
	for _, m := range early {
		m.awaitSession(ctx, t)
	}
	for _, m := range early {
		for _, of := range early {
			if of != m {
				m.awaitSSRCs(ctx, t, of)
			}
		}
	}
	before := map[string]int{}
	for _, m := range early {
		before[m.nick] = len(m.media.Actions())
	}

	dave := h.join(ctx, room, "dave", testclient.MediaOptions{})
	erin := h.join(ctx, room, "erin", testclient.MediaOptions{})
	joined := time.Now()
	dave.awaitSession(ctx, t)
	erin.awaitSession(ctx, t)
	for _, m := range early {
		m.awaitSSRCs(ctx, t, dave)
		m.awaitSSRCs(ctx, t, erin)
		got := m.media.Actions()[before[m.nick]:]
		if !slices.Equal(got, []xmpp.JingleAction{xmpp.JingleSourceAdd}) {
			t.Errorf("%s was sent %v after the newcomers came, want one source-add", m.nick, got)
		}
	}
	t.Logf("the newcomers' sources reached the room %v after they joined (delay %v)", time.Since(joined).Round(time.Millisecond), delay)
	for _, newcomer := range []*member{dave, erin} {
		for _, of := range append(slices.Clone(early), dave, erin) {
			if of != newcomer {
				newcomer.awaitSSRCs(ctx, t, of)
			}
		}
	}
}
