package loadgen

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"focal/internal/testclient"
)

// Failover is failover under load: the conferences of Scenario are set up
// and left in session, then Kill kills a focus node and, at once, one
// participant of every conference adds a source and Newcomers conferences
// get one more participant. A conference counts as recovered when its
// source-add is answered; a newcomer when its session-initiate arrives.
// Both are timed from just before Kill, from outside: what participants see.
type Failover struct {
	Scenario
	// Kill kills a node (SIGKILL) and returns once it is gone.
	Kill func() error
	// Newcomers is how many conferences, from the first, get a newcomer.
	Newcomers int
	// Spread, when set, sends the source-adds evenly over that long from
	// the kill instead of all at the kill: a participant's request comes
	// when it comes, not in one burst with every other conference's.
	Spread time.Duration
}

// FailoverResult is what a failover run measured.
type FailoverResult struct {
	// Setup is the join storm that set the conferences up.
	Setup Result `json:"setup"`
	// Killed is when the kill was asked for.
	Killed time.Time `json:"killed"`
	// Recovery: the kill → each conference's source-add answered, by room.
	Recovery map[string]time.Duration `json:"recovery_ns"`
	// Answered: each conference's source-add, sent → answered, by room
	// (with Spread, what the participant waited; otherwise as Recovery).
	Answered map[string]time.Duration `json:"answered_ns"`
	// NewcomerJoin: the kill → the newcomer's session-initiate, by room.
	NewcomerJoin map[string]time.Duration `json:"newcomer_join_ns"`
	// Errors after the kill: unanswered or refused source-adds, newcomers
	// not in session.
	Errors       int      `json:"errors"`
	ErrorSamples []string `json:"error_samples,omitempty"`
	// CPU is each process's CPU use after the kill, in cores, by second.
	CPUSeries map[string][]float64 `json:"cpu_series"`
	// Unread is the server's unread input after the kill, by second.
	Unread map[string][]int64 `json:"unread_bytes,omitempty"`
}

// RunFailover runs f. Whatever has not recovered Patience after the kill
// (or when ctx ends) is an error.
func RunFailover(ctx context.Context, f Failover) (FailoverResult, error) {
	if f.Kill == nil {
		return FailoverResult{}, errors.New("loadgen: failover without a kill")
	}
	if f.Participants < 2 {
		return FailoverResult{}, errors.New("loadgen: failover needs conferences of two or more")
	}
	rec, members, err := record(ctx, f.Scenario)
	defer func() { closeAll(members) }()
	if err != nil {
		return FailoverResult{}, err
	}
	out := FailoverResult{Setup: ResultOf(rec), Recovery: map[string]time.Duration{}, Answered: map[string]time.Duration{}, NewcomerJoin: map[string]time.Duration{}}
	if out.Setup.Errors > 0 {
		return out, fmt.Errorf("loadgen: %d errors before the kill: %v", out.Setup.Errors, out.Setup.ErrorSamples)
	}
	firsts := map[string]*member{}
	var rooms []string
	for _, m := range members {
		if _, ok := firsts[m.room]; !ok {
			firsts[m.room] = m
			rooms = append(rooms, m.room)
		}
	}
	procs := map[string]int{"loadgen": selfPID()}
	for name, pid := range f.Processes {
		procs[name] = pid
	}
	sampler := sampleCPU(procs, f.ServerPorts)
	var mu sync.Mutex
	fail := func(err error) {
		mu.Lock()
		defer mu.Unlock()
		out.Errors++
		if len(out.ErrorSamples) < maxErrorSamples {
			out.ErrorSamples = append(out.ErrorSamples, err.Error())
		}
	}
	patience := f.Patience
	if patience <= 0 {
		patience = DefaultPatience
	}
	killed := time.Now()
	out.Killed = killed
	ctx, cancel := context.WithTimeout(ctx, patience)
	defer cancel()
	if err := f.Kill(); err != nil {
		sampler.stop()
		return out, fmt.Errorf("loadgen: kill: %w", err)
	}
	var wg sync.WaitGroup
	var joined []*testclient.Client
	for k, room := range rooms {
		m := firsts[room]
		wg.Add(1)
		due := killed.Add(f.Spread * time.Duration(k) / time.Duration(len(rooms)))
		go func() {
			defer wg.Done()
			select {
			case <-time.After(time.Until(due)):
			case <-ctx.Done():
			}
			sent := time.Now()
			if err := m.addScreen(ctx, int64(90_000_000+m.index)); err != nil {
				fail(err)
				return
			}
			mu.Lock()
			out.Recovery[room] = time.Since(killed)
			out.Answered[room] = time.Since(sent)
			mu.Unlock()
		}()
		if k >= f.Newcomers {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := newcomer(ctx, f.Scenario, room)
			if c != nil {
				mu.Lock()
				joined = append(joined, c)
				mu.Unlock()
			}
			if err != nil {
				fail(err)
				return
			}
			mu.Lock()
			out.NewcomerJoin[room] = time.Since(killed)
			mu.Unlock()
		}()
	}
	wg.Wait()
	out.CPUSeries, out.Unread = sampler.stop()
	for _, c := range joined {
		c.Close()
	}
	return out, nil
}

// newcomer joins room as a participant who arrives during the failover.
func newcomer(ctx context.Context, s Scenario, room string) (*testclient.Client, error) {
	c, err := testclient.Dial(ctx, testclient.Options{Addr: s.Addr, Domain: s.Domain})
	if err != nil {
		return nil, fmt.Errorf("%s newcomer: connect: %w", room, err)
	}
	m := &member{room: room, nick: "newcomer", c: c, media: testclient.NewMedia(c, testclient.MediaOptions{Nick: "newcomer", Simulcast: true, RTX: true})}
	if err := requestUntilReady(ctx, s, 0, m); err != nil {
		return c, err
	}
	return c, m.joinAndAwaitSession(ctx, s)
}
