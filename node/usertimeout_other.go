//go:build !linux

package node

import (
	"syscall"
	"time"
)

// abortUnacknowledgedAfter does nothing outside Linux: a connection a
// partition cut is noticed only when TCP gives up.
func abortUnacknowledgedAfter(time.Duration) func(network, address string, c syscall.RawConn) error {
	return nil
}
