package clustertest_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"focal/internal/clustertest"
	"focal/internal/testclient"
	"focal/xmpp"
)

// With two bridges and the default `single` strategy, both participants of
// a conference whose two participants join at the same moment are sent to
// one bridge: each participant's session-initiate carries the same bridge's
// transport (its DTLS fingerprint), and the bridges agree, no conference's
// endpoints being spread over both. Without relays between bridges, two
// participants on different bridges could neither see nor hear each other.
func TestConferenceOnOneBridge(t *testing.T) {
	const (
		conferences = 100
		// parallel bounds the conferences being set up at once.
		parallel = 10
	)
	c := clustertest.Start(t, clustertest.Options{Nodes: 3, Bridges: 2})
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	if err := c.WaitCluster(ctx, 3); err != nil {
		t.Fatal(err)
	}
	// Which bridge a DTLS fingerprint belongs to.
	bridgeOf := map[string]string{}
	for i := range 2 {
		st, err := c.Bridge(i).Status(ctx)
		if err != nil {
			t.Fatal(err)
		}
		bridgeOf[st.Fingerprint] = st.Nick
	}
	if len(bridgeOf) != 2 {
		t.Fatalf("the two bridges share a fingerprint: %v", bridgeOf)
	}

	started := time.Now()
	pairs := make([]togetherPair, conferences)
	slots := make(chan struct{}, parallel)
	var wg sync.WaitGroup
	for i := range pairs {
		slots <- struct{}{}
		wg.Go(func() {
			defer func() { <-slots }()
			pairs[i] = joinTogether(ctx, t, c, c.Room(fmt.Sprintf("onebridge-%03d", i)))
		})
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	t.Logf("%d conferences of two joining together, %d at a time, all in session after %v", conferences, parallel, time.Since(started).Round(time.Millisecond))

	// What each participant was told: the bridge of its transport.
	onBridge := func(p *participant, o testclient.Offer) string {
		if o.Transport == nil || len(o.Transport.Fingerprints) == 0 {
			t.Errorf("%s: session-initiate without a DTLS fingerprint", p.nick)
			return "?"
		}
		if nick, ok := bridgeOf[o.Transport.Fingerprints[0].Value]; ok {
			return nick
		}
		return "unknown bridge " + o.Transport.Fingerprints[0].Value
	}
	var split []string
	for _, p := range pairs {
		a, b := onBridge(p.alice, p.aliceOffer), onBridge(p.bob, p.bobOffer)
		if a != b {
			split = append(split, fmt.Sprintf("%s (alice on %s, bob on %s)", p.room, a, b))
		}
	}

	// What the bridges hold: a meeting with endpoints on both is split.
	// The focus's /debug/conferences names the room of each meeting.
	room := map[string]string{}
	for _, n := range c.Nodes() {
		snaps, err := n.Conferences(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range snaps {
			if !s.Standby {
				room[s.MeetingID] = s.Room
			}
		}
	}
	holders := map[string][]string{} // meeting → bridges with its endpoints
	for i := range 2 {
		st, err := c.Bridge(i).Status(ctx)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: %d conferences, %d endpoints", st.Nick, st.Conferences, st.Endpoints)
		for meeting, eps := range st.Meetings {
			if len(eps) > 0 {
				holders[meeting] = append(holders[meeting], fmt.Sprintf("%s %v", st.Nick, eps))
			}
		}
	}
	var bridgeSplit []string
	for meeting, on := range holders {
		if len(on) > 1 {
			name := room[meeting]
			if name == "" {
				name = "meeting " + meeting
			}
			bridgeSplit = append(bridgeSplit, fmt.Sprintf("%s (%s)", name, strings.Join(on, ", ")))
		}
	}
	slices.Sort(bridgeSplit)

	if len(split) > 0 {
		t.Errorf("%d of %d conferences split over two bridges, as their participants' session-initiates say; e.g. %s",
			len(split), conferences, strings.Join(split[:min(len(split), 5)], "; "))
	}
	if len(bridgeSplit) > 0 {
		t.Errorf("%d of %d conferences have endpoints on both bridges, as the bridges say; e.g. %s",
			len(bridgeSplit), conferences, strings.Join(bridgeSplit[:min(len(bridgeSplit), 5)], "; "))
	}
}

// togetherPair is a conference of two whose participants joined at once,
// with the session-initiate each was sent.
type togetherPair struct {
	pair
	aliceOffer, bobOffer testclient.Offer
}

// joinTogether logs two participants in, then has both send their
// conference request and join the room at the same moment, as two people
// opening a meeting link together would, and waits until each has
// accepted its Jingle session. It reports failures with t.Errorf, so that
// it can run on other goroutines.
func joinTogether(ctx context.Context, t *testing.T, c *clustertest.Cluster, room string) togetherPair {
	p := togetherPair{pair: pair{room: room}}
	ms := make([]*participant, 2)
	for i, nick := range []string{"alice", "bob"} {
		cl, err := c.Client(ctx)
		if err != nil {
			t.Errorf("%s %s: %v", room, nick, err)
			return p
		}
		ms[i] = &participant{c: cl, media: testclient.NewMedia(cl, testclient.MediaOptions{Nick: nick}), nick: nick}
	}
	p.alice, p.bob = ms[0], ms[1]
	offers := make([]testclient.Offer, 2)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i, m := range ms {
		wg.Go(func() {
			<-start
			if _, err := m.c.RequestConference(ctx, c.Component(), xmpp.ConferenceIQ{Room: room}); err != nil {
				t.Errorf("%s %s: conference request: %v", room, m.nick, err)
				return
			}
			if _, err := m.c.Join(ctx, room, m.nick); err != nil {
				t.Errorf("%s %s: join: %v", room, m.nick, err)
				return
			}
			o, err := m.media.AwaitSession(ctx)
			if err != nil {
				t.Errorf("%s %s: no session: %v", room, m.nick, err)
				return
			}
			if err := m.media.AwaitAccepted(ctx); err != nil {
				t.Errorf("%s %s: accept: %v", room, m.nick, err)
				return
			}
			offers[i] = o
		})
	}
	close(start)
	wg.Wait()
	p.aliceOffer, p.bobOffer = offers[0], offers[1]
	return p
}
