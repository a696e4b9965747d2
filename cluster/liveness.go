package cluster

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"syscall"
	"time"
)

// Liveness: proof, sooner than failure detection, that a member's process
// has exited. Failure detection cannot tell a dead member from one cut
// off, so it waits (memberlist's suspicion, then the directory's promotion
// delay) until a member cut off would have stopped driving conferences:
// about two seconds. A process that exits is different: its kernel closes
// its sockets at once. Every node listens on a liveness address for the
// whole life of its process, and every other member holds a connection to
// it. When that connection ends and the address then refuses a new one,
// nothing listens there any more: the process is gone, and can drive
// nothing. A partition drops packets; it neither ends a connection nor
// refuses one, so it leaves the proof to failure detection, as before. A
// stopped process (SIGSTOP) still has its listener, whose kernel accepts
// connections: not gone either.
//
// What the proof assumes: nothing between the nodes refuses connections
// to the liveness address in the process's place (a firewall rule that
// rejects rather than drops, say). Where something might, leave the
// liveness address out (node flag --liveness off).

// LivenessListener is a node's liveness address: it accepts the other
// members' connections and holds them open, discarding whatever they
// send. It must stay open until the process has let go of everything
// (its conferences, its sessions): closing it tells the others the
// process is gone.
type LivenessListener struct {
	ln net.Listener
	wg sync.WaitGroup

	mu     sync.Mutex
	conns  map[net.Conn]struct{}
	closed bool
}

// maxLivenessConns bounds the connections a liveness listener holds: one
// per member is what it needs; beyond the bound new ones are closed at
// once, so a peer that opens them without end costs nothing.
const maxLivenessConns = 256

// ListenLiveness opens a liveness listener on addr (HOST:PORT; port 0
// picks a free one, which Addr reports).
func ListenLiveness(addr string) (*LivenessListener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("liveness listener on %s: %w", addr, err)
	}
	l := &LivenessListener{ln: ln, conns: make(map[net.Conn]struct{})}
	l.wg.Add(1)
	go l.accept()
	return l, nil
}

// Addr is the address the listener is bound to, for NodeMeta.Liveness.
func (l *LivenessListener) Addr() string { return l.ln.Addr().String() }

func (l *LivenessListener) accept() {
	defer l.wg.Done()
	for {
		c, err := l.ln.Accept()
		if err != nil {
			return // closed
		}
		l.mu.Lock()
		if l.closed || len(l.conns) >= maxLivenessConns {
			l.mu.Unlock()
			c.Close()
			continue
		}
		l.conns[c] = struct{}{}
		l.mu.Unlock()
		l.wg.Add(1)
		go l.hold(c)
	}
}

// hold keeps c open until its peer closes it or the listener closes.
func (l *LivenessListener) hold(c net.Conn) {
	defer l.wg.Done()
	_, _ = io.Copy(io.Discard, c)
	c.Close()
	l.mu.Lock()
	delete(l.conns, c)
	l.mu.Unlock()
}

// Close closes the listener and every connection it holds, which the
// other members take as this process being gone.
func (l *LivenessListener) Close() error {
	l.mu.Lock()
	l.closed = true
	for c := range l.conns {
		c.Close()
	}
	l.mu.Unlock()
	err := l.ln.Close()
	l.wg.Wait()
	return err
}

// Liveness timing: how long a dial of a member's liveness address may
// take, how long a connection must hold before a member found gone is
// believed back (a restarted process on the same address), and the pause
// between dials that did not connect.
const (
	livenessDialTimeout = time.Second
	livenessHeld        = time.Second
	livenessRetry       = 200 * time.Millisecond
)

// livenessWatch holds a connection to each other member's liveness
// address and reports what it proves: gone (a connection ended and a new
// one was refused) or back (a connection held for livenessHeld).
type livenessWatch struct {
	report func(name, addr string, gone bool)

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu      sync.Mutex
	watched map[string]watched // member name → its watch
}

type watched struct {
	addr   string
	cancel context.CancelFunc
}

func newLivenessWatch(report func(name, addr string, gone bool)) *livenessWatch {
	ctx, cancel := context.WithCancel(context.Background())
	return &livenessWatch{report: report, ctx: ctx, cancel: cancel, watched: make(map[string]watched)}
}

// follow watches name's liveness address addr (empty: none), replacing a
// watch of another address. It does not block.
func (w *livenessWatch) follow(name, addr string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if cur, ok := w.watched[name]; ok {
		if cur.addr == addr {
			return
		}
		cur.cancel()
		delete(w.watched, name)
	}
	if addr == "" || w.ctx.Err() != nil {
		return
	}
	ctx, cancel := context.WithCancel(w.ctx)
	w.watched[name] = watched{addr: addr, cancel: cancel}
	w.wg.Add(1)
	go w.watch(ctx, name, addr)
}

// forget stops watching name.
func (w *livenessWatch) forget(name string) { w.follow(name, "") }

// close stops every watch and waits for them.
func (w *livenessWatch) close() {
	w.mu.Lock()
	w.cancel()
	w.mu.Unlock()
	w.wg.Wait()
}

// watch connects to addr, holds the connection until it ends, and dials
// again at once: a refusal then is the proof that name's process is gone.
// A process being killed may still accept that dial (its listener closes
// a moment after its connections), and the new connection ends at once,
// so the next dial goes at once too; only when connections keep ending
// as soon as they are made (a listener over its bound closes new ones)
// does the watch pause between them, so that such a peer is not dialled
// in a tight loop.
func (w *livenessWatch) watch(ctx context.Context, name, addr string) {
	defer w.wg.Done()
	dialer := net.Dialer{Timeout: livenessDialTimeout}
	pause := func() {
		select {
		case <-ctx.Done():
		case <-time.After(livenessRetry):
		}
	}
	short := 0 // connections in a row that ended as soon as they were made
	for ctx.Err() == nil {
		c, err := dialer.DialContext(ctx, "tcp", addr)
		if err != nil {
			if errors.Is(err, syscall.ECONNREFUSED) {
				w.report(name, addr, true)
			}
			pause()
			continue
		}
		connected := time.Now()
		w.hold(ctx, c, name, addr)
		if time.Since(connected) >= livenessRetry {
			short = 0
			continue
		}
		if short++; short > 1 {
			pause()
		}
	}
}

// hold reads c until it ends (the peer closed it, or ctx ended), reporting
// the member back once it has held for livenessHeld.
func (w *livenessWatch) hold(ctx context.Context, c net.Conn, name, addr string) {
	ended := make(chan struct{})
	go func() {
		defer close(ended)
		_, _ = io.Copy(io.Discard, c)
	}()
	held := time.NewTimer(livenessHeld)
	defer held.Stop()
	for {
		select {
		case <-held.C:
			w.report(name, addr, false)
		case <-ctx.Done():
			c.Close()
			<-ended
			return
		case <-ended:
			c.Close()
			return
		}
	}
}
