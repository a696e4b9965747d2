package loadgen

import (
	"os"
	"strconv"
	"strings"
)

// unreadBytes is how many bytes wait, unread, in the receive queues of
// the local TCP sockets whose local port is one of ports (a server's
// listening ports: what its clients sent that it has not read yet), from
// /proc/net/tcp. A server that keeps up leaves it near zero; one whose
// event loop is saturated lets it grow, and every stanza behind it waits.
func unreadBytes(ports []int) int64 {
	b, err := os.ReadFile("/proc/net/tcp")
	if err != nil {
		return 0
	}
	want := map[string]bool{}
	for _, p := range ports {
		want[strings.ToUpper(strconv.FormatInt(int64(p), 16))] = true
	}
	var total int64
	for _, line := range strings.Split(string(b), "\n")[1:] {
		f := strings.Fields(line)
		if len(f) < 5 {
			continue
		}
		_, port, ok := strings.Cut(f[1], ":")
		if !ok || !want[strings.TrimLeft(port, "0")] {
			continue
		}
		_, rx, ok := strings.Cut(f[4], ":")
		if !ok {
			continue
		}
		n, err := strconv.ParseInt(rx, 16, 64)
		if err == nil {
			total += n
		}
	}
	return total
}
