package node_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"focal/actors/ingress"
	"focal/bench/bridgesim"
	"focal/internal/testclient"
	"focal/xmpp"
)

// BenchmarkJoinPath measures the whole media join path through a real
// Prosody and a simulated bridge, for one conference of two participants per
// iteration: conference request, MUC join, disco#info, bridge selection,
// Colibri2 allocation, session-initiate, session-accept, Colibri2 update and
// source-add to the other participant, until each has the other's sources.
// Connections are made before the timer starts; allocations count the
// whole process (focus, clients and bridge).
func BenchmarkJoinPath(b *testing.B) {
	h := newHarness(b, withBrewery)
	ctx := context.Background()
	h.readyBridge(ctx, "jvb1", bridgesim.Stats{StressLevel: 0.1})
	clients := make([]*testclient.Client, 2*b.N)
	for i := range clients {
		clients[i] = h.client(ctx)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		room := h.room(fmt.Sprintf("bench-join-%d", i))
		var ms [2]*member
		for k := range ms {
			nick := fmt.Sprintf("p%d", k)
			c := clients[2*i+k]
			ms[k] = &member{c: c, media: testclient.NewMedia(c, testclient.MediaOptions{Nick: nick}), nick: nick}
			if _, err := c.RequestConference(ctx, h.component(), xmpp.ConferenceIQ{Room: room}); err != nil {
				b.Fatal(err)
			}
			if _, err := c.Join(ctx, room, nick); err != nil {
				b.Fatal(err)
			}
		}
		for k, m := range ms {
			other := ms[1-k]
			for _, ssrc := range other.media.SSRCs() {
				if err := m.media.AwaitRemoteSSRC(ctx, ssrc); err != nil {
					b.Fatal(err)
				}
			}
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(2*b.N), "ns/participant")
}

// BenchmarkPingBaseline is the same Prosody's round trip for an XMPP ping
// from a client to the focus, the unit the join path is compared with.
func BenchmarkPingBaseline(b *testing.B) {
	h := newHarness(b, nil)
	ctx := context.Background()
	c := h.client(ctx)
	focus := h.node.FocusAddr()
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		ping := xmpp.NewIQ(xmpp.IQGet, "", focus, "", xmpp.NewElement(ingress.NSPing, "ping"))
		rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		if _, err := c.S.RequestWait(rctx, ping); err != nil {
			b.Fatal(err)
		}
		cancel()
	}
}
