package node

import (
	"context"
	"errors"
	"testing"
	"time"

	"google.golang.org/grpc"
)

// stopRemote's wait ends only once every running handler has returned.
func TestInboundCallsWaitForRunningHandlers(t *testing.T) {
	c := newInboundCalls()
	if err := c.wait(context.Background()); err != nil {
		t.Fatalf("wait with nothing running: %v", err)
	}
	release := make(chan struct{})
	started := make(chan struct{})
	returned := make(chan error, 1)
	go func() {
		returned <- c.intercept(nil, nil, &grpc.StreamServerInfo{}, func(any, grpc.ServerStream) error {
			close(started)
			<-release
			return nil
		})
	}()
	<-started
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if err := c.wait(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("wait while a handler runs: %v, want the deadline", err)
	}
	close(release)
	if err := c.wait(context.Background()); err != nil {
		t.Fatalf("wait once the handler returned: %v", err)
	}
	if err := <-returned; err != nil {
		t.Fatal(err)
	}
}
