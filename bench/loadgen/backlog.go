package loadgen

import (
	"os"
	"strconv"
	"strings"
)

// unreadBytes is how many bytes wait, unread, in the receive queues of
// the server's sockets on ports (its listening ports: what its clients
// sent that it has not read yet), from /proc/net/tcp, by the process at
// the other end: the name procs gives it, or "others". A server that keeps
// up leaves them near zero; when one sender's connection holds most of
// it, the server reads that connection slower than the sender writes, and
// every stanza the sender sends waits behind it.
func unreadBytes(ports []int, procs map[string]int) map[string]int64 {
	b, err := os.ReadFile("/proc/net/tcp")
	if err != nil {
		return nil
	}
	want := map[int]bool{}
	for _, p := range ports {
		want[p] = true
	}
	owner := socketOwners(procs)
	type sock struct{ remote, rx int }
	var server []sock
	inodeAt := map[int]string{} // local port → socket inode
	for _, line := range strings.Split(string(b), "\n")[1:] {
		f := strings.Fields(line)
		if len(f) < 10 {
			continue
		}
		local, remote := portOfHex(f[1]), portOfHex(f[2])
		inodeAt[local] = f[9]
		_, rx, _ := strings.Cut(f[4], ":")
		n, _ := strconv.ParseInt(rx, 16, 64)
		if want[local] && f[3] == "01" { // established
			server = append(server, sock{remote, int(n)})
		}
	}
	out := map[string]int64{}
	for _, s := range server {
		name := owner[inodeAt[s.remote]]
		if name == "" {
			name = "others"
		}
		out[name] += int64(s.rx)
	}
	return out
}

// socketOwners maps the socket inodes each process holds to its name.
func socketOwners(procs map[string]int) map[string]string {
	out := map[string]string{}
	for name, pid := range procs {
		dir := "/proc/" + strconv.Itoa(pid) + "/fd"
		fds, err := os.ReadDir(dir)
		if err != nil {
			continue
		}
		for _, fd := range fds {
			link, err := os.Readlink(dir + "/" + fd.Name())
			if err != nil {
				continue
			}
			if inode, ok := strings.CutPrefix(link, "socket:["); ok {
				out[strings.TrimSuffix(inode, "]")] = name
			}
		}
	}
	return out
}

// portOfHex reads the port of a /proc/net/tcp address (hex IP:port).
func portOfHex(addr string) int {
	_, p, _ := strings.Cut(addr, ":")
	n, _ := strconv.ParseInt(p, 16, 64)
	return int(n)
}
