package clustertest_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"focal/internal/clustertest"
)

// BenchmarkDrain measures how long a SIGTERMed node takes to hand over the
// conferences it drives (each with a standby on another node) and exit:
// about b.N×1000 conferences are created over HTTP on three nodes, then the
// node driving the most drains. Run with -benchtime=1x.
//
//	go test -run='^$' -bench=Drain -benchtime=1x ./internal/clustertest/
func BenchmarkDrain(b *testing.B) {
	const owned = 1000
	c := clustertest.Start(b, clustertest.Options{Nodes: 3, Args: []string{"--initial_timeout", "10m"}})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	if err := c.WaitCluster(ctx, 3); err != nil {
		b.Fatal(err)
	}
	total := 3 * owned
	created := time.Now()
	var wg sync.WaitGroup
	jobs := make(chan int)
	for w := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			node := c.Node(w % 3)
			for i := range jobs {
				body := fmt.Sprintf(`{"room":"drain-%04d@%s"}`, i, c.Prosody.MUCDomain())
				resp, err := http.Post("http://"+node.HTTP()+"/conference-request/v1", "application/json", bytes.NewBufferString(body))
				if err != nil {
					b.Error(err)
					return
				}
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					b.Errorf("request %d: %s", i, resp.Status)
				}
			}
		}()
	}
	for i := range total {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	b.Logf("%d conferences created in %v", total, time.Since(created).Round(time.Millisecond))

	view, err := c.Node(0).Cluster(ctx)
	if err != nil {
		b.Fatal(err)
	}
	var victim *clustertest.Node
	most := 0
	for _, m := range view.Members {
		if len(m.Rooms) > most {
			most = len(m.Rooms)
			for _, n := range c.Nodes() {
				if n.Name() == m.Name {
					victim = n
				}
			}
		}
	}
	b.ResetTimer()
	start := time.Now()
	if err := victim.Term(); err != nil {
		b.Fatal(err)
	}
	took := time.Since(start)
	b.StopTimer()
	// Every conference is driven again, by the two nodes left.
	for {
		drivers, err := drivers(ctx, c)
		if err != nil {
			b.Fatal(err)
		}
		if len(drivers) == total {
			break
		}
		select {
		case <-ctx.Done():
			b.Fatalf("%d of %d conferences driven after the drain", len(drivers), total)
		case <-time.After(50 * time.Millisecond):
		}
	}
	b.ReportMetric(float64(most), "conferences")
	b.ReportMetric(took.Seconds(), "s/drain")
	b.Logf("%s drained %d conferences and exited in %v", victim.Name(), most, took.Round(time.Millisecond))
}
