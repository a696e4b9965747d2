package clustertest_test

import (
	"context"
	"testing"
	"time"

	"focal/actors/ingress"
	"focal/internal/clustertest"
	"focal/xmpp"
)

// pingEvery is how often BenchmarkComponentTakeover pings the focus
// component while its holder is gone.
const pingEvery = 5 * time.Millisecond

// BenchmarkComponentTakeover measures the window in which Prosody answers
// for the focus component itself ("Component unavailable") after the node
// holding it is SIGKILLed: the kill closes its connection, Prosody drops
// the component at once, and the next node to dial in takes it. A client
// pings the component every 5 ms from the kill until the component
// answers; each op kills the holder once (and restarts it afterwards,
// outside the timer).
//
//	go test -run='^$' -bench=ComponentTakeover -benchtime=5x ./internal/clustertest/
func BenchmarkComponentTakeover(b *testing.B) {
	c, ctx := benchCluster(b, clustertest.Options{Nodes: 3})
	cl, err := c.Client(ctx)
	if err != nil {
		b.Fatal(err)
	}
	var unavailable, firstRefusal time.Duration
	refused := 0
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		if err := c.WaitCluster(ctx, 3); err != nil {
			b.Fatal(err)
		}
		holder, err := c.ComponentHolder(ctx)
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		if err := holder.Kill(); err != nil {
			b.Fatal(err)
		}
		killed := time.Now()
		seenRefusal := false
		for {
			pctx, pcancel := context.WithTimeout(ctx, time.Second)
			_, err := cl.S.RequestWait(pctx, xmpp.NewIQ(xmpp.IQGet, "", c.Component(), "", xmpp.NewElement(ingress.NSPing, "ping")))
			pcancel()
			if err == nil {
				break
			}
			if ctx.Err() != nil {
				b.Fatalf("the component never answered again: %v", err)
			}
			if !seenRefusal {
				seenRefusal = true
				firstRefusal += time.Since(killed)
			}
			refused++
			time.Sleep(pingEvery)
		}
		unavailable += time.Since(killed)
		b.StopTimer()
		if err := holder.Restart(); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
	b.ReportMetric(float64(unavailable.Milliseconds())/float64(b.N), "ms-until-answered")
	b.ReportMetric(float64(firstRefusal.Milliseconds())/float64(b.N), "ms-until-refused")
	b.ReportMetric(float64(refused)/float64(b.N), "refusals/op")
}
