package node

import (
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// abortUnacknowledgedAfter is a net.Dialer Control that sets the socket's
// TCP_USER_TIMEOUT: the kernel aborts the connection once data it sent has
// gone unacknowledged for d.
func abortUnacknowledgedAfter(d time.Duration) func(network, address string, c syscall.RawConn) error {
	return func(_, _ string, c syscall.RawConn) error {
		var err error
		if cerr := c.Control(func(fd uintptr) {
			err = unix.SetsockoptInt(int(fd), unix.IPPROTO_TCP, unix.TCP_USER_TIMEOUT, int(d.Milliseconds()))
		}); cerr != nil {
			return cerr
		}
		return err
	}
}
