package clustertest_test

import (
	"context"
	"testing"
	"time"

	"focal/actors/ingress"
	"focal/internal/clustertest"
	"focal/xmpp"
)

// BenchmarkClusterSourceAdd measures a participant's source changes in a
// three-node cluster, from the moment one is sent until the other
// participant has it: the focus answers, replicates the change to the
// conference's standby and signals it to the other participant (and the
// bridge). One op is a change: a source-add, then its source-remove (an
// endpoint may have only so many sources). The baseline is
// BenchmarkClusterPingBaseline, a ping to the same Prosody.
//
//	go test -run='^$' -bench='ClusterSourceAdd|ClusterPingBaseline' -benchtime=200x ./internal/clustertest/
func BenchmarkClusterSourceAdd(b *testing.B) {
	c, ctx := benchCluster(b, clustertest.Options{Nodes: 3, Bridges: 1})
	p := joinPair(ctx, b, c, c.Room("bench-source-add"))
	b.ResetTimer()
	for i := range b.N {
		ssrc := int64(500000 + i/2)
		set := newSource(ssrc, "bench")
		if i%2 == 0 {
			if err := p.alice.media.SendSourceAdd(ctx, set); err != nil {
				b.Fatal(err)
			}
			if err := p.bob.media.AwaitRemoteSSRC(ctx, ssrc); err != nil {
				b.Fatal(err)
			}
			continue
		}
		if err := p.alice.media.SendSourceRemove(ctx, set); err != nil {
			b.Fatal(err)
		}
		if err := p.bob.media.AwaitRemoteSSRCGone(ctx, ssrc); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkClusterPingBaseline is a client's XMPP ping to the Prosody
// of BenchmarkClusterSourceAdd, in the same conditions.
func BenchmarkClusterPingBaseline(b *testing.B) {
	c, ctx := benchCluster(b, clustertest.Options{Nodes: 3, Bridges: 1})
	cl, err := c.Client(ctx)
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for range b.N {
		ping := xmpp.NewIQ(xmpp.IQGet, "", c.Prosody.Domain, "", xmpp.NewElement(ingress.NSPing, "ping"))
		if _, err := cl.S.RequestWait(ctx, ping); err != nil {
			b.Fatal(err)
		}
	}
}

// benchCluster starts a cluster for a benchmark and waits until its nodes
// form it; the context bounds the benchmark.
func benchCluster(b *testing.B, opts clustertest.Options) (*clustertest.Cluster, context.Context) {
	b.Helper()
	c := clustertest.Start(b, opts)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	b.Cleanup(cancel)
	if err := c.WaitCluster(ctx, opts.Nodes); err != nil {
		b.Fatal(err)
	}
	return c, ctx
}
