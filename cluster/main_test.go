package cluster

import (
	"testing"

	"go.uber.org/goleak"
)

// Every test must leave no memberlist goroutine behind after Shutdown.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
