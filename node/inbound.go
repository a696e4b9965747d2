package node

import (
	"context"
	"sync"
	"time"

	"google.golang.org/grpc"
)

// inboundCalls counts the remote's gRPC handlers that are running. The
// gRPC server's Stop (v1.60) does not wait for them, and a handler still
// delivering a peer's batch after stopRemote stopped the outgoing
// connections can make protoactor dial that peer again (a request to an
// actor already gone is answered, as a dead letter, to its remote
// sender) into the stopped endpoint supervisor, which panics the process
// on its way out: a node ended so with exit status 2 after a clean
// SIGTERM. So stopRemote waits for them between the two.
type inboundCalls struct {
	mu      sync.Mutex
	running int
	idle    chan struct{} // closed while running is 0
}

func newInboundCalls() *inboundCalls {
	idle := make(chan struct{})
	close(idle)
	return &inboundCalls{idle: idle}
}

// intercept is a grpc.StreamServerInterceptor: protoactor's remote is one
// bidirectional stream per peer.
func (c *inboundCalls) intercept(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
	c.mu.Lock()
	if c.running == 0 {
		c.idle = make(chan struct{})
	}
	c.running++
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		c.running--
		if c.running == 0 {
			close(c.idle)
		}
		c.mu.Unlock()
	}()
	return handler(srv, ss)
}

// wait returns once no handler runs, or ctx ends.
func (c *inboundCalls) wait(ctx context.Context) error {
	c.mu.Lock()
	idle := c.idle
	c.mu.Unlock()
	select {
	case <-idle:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// inboundWait bounds stopRemote's wait for the handlers: once the server
// has stopped, each returns after the batch it is delivering.
const inboundWait = 2 * time.Second
