// Command joinbench measures conference-request round trips through a real
// XMPP server against a baseline of bare XMPP pings over the same connections,
// and with -print sends one request and prints the answer.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"slices"
	"sync"
	"time"

	"focal/internal/testclient"
	"focal/xmpp"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:5222", "c2s address of the XMPP server")
	domain := flag.String("domain", "meet.jitsi", "anonymous client domain")
	component := flag.String("focus", "", "focus component JID (default focus.<domain>)")
	muc := flag.String("muc", "", "conference MUC service (default conference.<domain>)")
	room := flag.String("room", "", "with -print: the room to ask for")
	print := flag.Bool("print", false, "send one conference request and print the answer")
	clients := flag.Int("clients", 10, "concurrent client connections")
	rooms := flag.Int("rooms", 200, "conference requests in all, one distinct room each")
	join := flag.Bool("join", true, "join each room after ready, so the conference stays live until the run ends")
	timeout := flag.Duration("timeout", 2*time.Minute, "bound on the whole run")
	flag.Parse()
	if *component == "" {
		*component = "focus." + *domain
	}
	if *muc == "" {
		*muc = "conference." + *domain
	}
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	var err error
	if *print {
		err = printOne(ctx, *addr, *domain, *component, *room, *muc)
	} else {
		err = run(ctx, *addr, *domain, *component, *muc, *clients, *rooms, *join)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "joinbench:", err)
		os.Exit(1)
	}
}

func printOne(ctx context.Context, addr, domain, component, room, muc string) error {
	if room == "" {
		room = "demo@" + muc
	}
	c, err := testclient.Dial(ctx, testclient.Options{Addr: addr, Domain: domain})
	if err != nil {
		return err
	}
	defer c.Close()
	req := xmpp.NewIQ(xmpp.IQSet, "", component, "", xmpp.ConferenceIQ{Room: room}.Element())
	fmt.Println("sent:    ", req.String())
	start := time.Now()
	res, err := c.S.RequestWait(ctx, req)
	if err != nil {
		return fmt.Errorf("conference request: %w", err)
	}
	fmt.Println("answer:  ", res.String())
	fmt.Println("took:    ", time.Since(start).Round(time.Microsecond))
	return nil
}

// run opens the clients, then measures, on each, pings to the server (the
// baseline: one round trip through the same server) and conference requests
// for distinct rooms (each creates a conference: the focus joins the room
// before it answers).
func run(ctx context.Context, addr, domain, component, muc string, nClients, nRooms int, join bool) error {
	cs := make([]*testclient.Client, nClients)
	for i := range cs {
		c, err := testclient.Dial(ctx, testclient.Options{Addr: addr, Domain: domain})
		if err != nil {
			return err
		}
		defer c.Close()
		cs[i] = c
	}
	prefix := fmt.Sprintf("bench%d", time.Now().UnixNano())
	var (
		mu    sync.Mutex
		ping  []time.Duration
		reqs  []time.Duration
		first error
		wg    sync.WaitGroup
	)
	start := time.Now()
	for w, c := range cs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < nRooms; i += nClients {
				t0 := time.Now()
				_, err := c.S.RequestWait(ctx, xmpp.NewIQ(xmpp.IQGet, "", domain, "", xmpp.NewElement("urn:xmpp:ping", "ping")))
				d0 := time.Since(t0)
				room := fmt.Sprintf("%s-%d@%s", prefix, i, muc)
				t1 := time.Now()
				var res xmpp.ConferenceIQ
				if err == nil {
					res, err = c.RequestConference(ctx, component, xmpp.ConferenceIQ{Room: room})
				}
				d1 := time.Since(t1)
				if err == nil && !res.Ready {
					err = errors.New(room + ": answered not ready")
				}
				if err == nil && join {
					_, err = c.Join(ctx, room, fmt.Sprint("p", i))
				}
				mu.Lock()
				if err != nil && first == nil {
					first = err
				}
				ping = append(ping, d0)
				reqs = append(reqs, d1)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	if first != nil {
		return first
	}
	pm, p99 := stats(ping)
	rm, r99 := stats(reqs)
	fmt.Printf("clients=%d rooms=%d elapsed=%s throughput=%.0f conferences/s\n", nClients, nRooms, elapsed.Round(time.Millisecond), float64(nRooms)/elapsed.Seconds())
	fmt.Printf("xmpp ping            median=%-10s p99=%s\n", pm, p99)
	fmt.Printf("conference request   median=%-10s p99=%s\n", rm, r99)
	fmt.Printf("ratio (request/ping) median=%.1fx p99=%.1fx\n", float64(rm)/float64(pm), float64(r99)/float64(p99))
	return nil
}

func stats(ds []time.Duration) (median, p99 time.Duration) {
	slices.Sort(ds)
	return ds[len(ds)/2].Round(time.Microsecond), ds[min(len(ds)-1, len(ds)*99/100)].Round(time.Microsecond)
}
