package node

import (
	"context"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/asynkron/protoactor-go/remote"
	"google.golang.org/grpc"

	"focal/actors/directory"
	"focal/cluster"
	"focal/proto"
)

const (
	// ClusterComponentBackoff caps the component stream's reconnect backoff
	// in a cluster. The server accepts one connection per component and
	// refuses the others, so every node but the holder keeps dialling; when
	// the holder dies the server drops its connection at once, and the
	// next node to dial takes the component over, at most this long (plus
	// a handshake) later. Meanwhile the server answers requests for the
	// focus with "Component unavailable", which Jitsi Meet takes as fatal:
	// the window matters more than the refused dials, which cost Prosody
	// about 2 % of a core at this setting, against 0.5 % at 1 s, for a
	// window of 211 ms against 328 ms on average (BENCHMARKS.md).
	ClusterComponentBackoff = 200 * time.Millisecond

	// clusterQueryTimeout bounds how long GET /cluster waits for a member's
	// room list.
	clusterQueryTimeout = time.Second

	// leaveTimeout bounds how long a stopping node waits for its leave to
	// be gossiped.
	leaveTimeout = time.Second
)

// endpointWriterQueue is the initial size of the queue of messages to each
// peer node (protoactor's EndpointWriterQueueSize): the queue doubles
// whenever it is full, so this bounds nothing. protoactor's default, a
// million slots, is 16 MiB allocated per peer at the first message to it,
// resident as the ring turns: a quarter to a half of a 3-node cluster
// member's heap with 4,000 conferences (BENCHMARKS.md, "Memory").
const endpointWriterQueue = 1024

// startRemote starts the protoactor remote on Config.Remote. protoactor
// panics when it cannot listen; that becomes an error here.
func (n *Node) startRemote() (err error) {
	host, portStr, err := net.SplitHostPort(n.cfg.Remote)
	if err != nil {
		return fmt.Errorf("--remote %q: %w", n.cfg.Remote, err)
	}
	port, err := strconv.Atoi(portStr)
	if err != nil {
		return fmt.Errorf("--remote %q: port: %w", n.cfg.Remote, err)
	}
	if strings.Contains(host, ":") {
		host = "[" + host + "]" // protoactor joins host and port with a bare colon
	}
	n.inbound = newInboundCalls()
	r := remote.NewRemote(n.system, remote.Configure(host, port,
		remote.WithEndpointWriterQueueSize(endpointWriterQueue),
		remote.WithServerOptions(grpc.ChainStreamInterceptor(n.inbound.intercept))))
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("start remote on %s: %v", n.cfg.Remote, p)
		}
	}()
	r.Start()
	n.remote = r
	return nil
}

// startMembership joins the cluster, advertising the remote, HTTP and
// liveness addresses, and gives the directory its first placement. The
// liveness listener opens first and closes last (closeLiveness): while it
// is open, the others count on this process to be alive.
func (n *Node) startMembership() error {
	meta := cluster.NodeMeta{Remote: n.system.Address(), HTTP: n.HTTPAddr(), ClusterSize: n.cfg.ClusterSize}
	if addr := n.cfg.livenessAddr(); addr != "" {
		l, err := cluster.ListenLiveness(addr)
		if err != nil {
			return fmt.Errorf("--liveness: %w", err)
		}
		n.liveness, meta.Liveness = l, l.Addr()
	}
	m, err := cluster.Start(cluster.Config{
		Name:   n.cfg.Node,
		Gossip: n.cfg.Gossip,
		Join:   n.cfg.Join,
		Meta:   meta,
		Logger: n.log,
	})
	if err != nil {
		return fmt.Errorf("cluster membership: %w", err)
	}
	n.members = m
	// Subscribe before the first read of the members, so that no change
	// falls in between.
	n.changes, n.unsubscribe = m.Subscribe()
	n.sendPlacement()
	return nil
}

// contactWindow is how recently a member must have answered this node's
// probes to count as reachable. Probes go round the members every
// probe interval (200 ms on loopback), so for a few members this spans
// several probes of each.
const contactWindow = time.Second

// followPlacement tells the directory the new placement after every change
// of the member list, and whenever the members it reaches change, until
// the membership shuts down. Changes coalesce in the subscription, so a
// slow directory never holds memberlist up. Reach is sampled every 100 ms:
// the directory decides on quorum from the latest placement, so that one
// must never lag behind for longer (a member re-added after a flap is
// reachable again within milliseconds, between two membership changes).
func (n *Node) followPlacement() {
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	reach := n.sendPlacement()
	for {
		select {
		case _, ok := <-n.changes:
			if !ok {
				return
			}
			reach = n.sendPlacement()
		case <-tick.C:
			n.quorum.observe(time.Now(), n.inQuorum())
			if n.reached() != reach {
				reach = n.sendPlacement()
			}
		}
	}
}

// reached names the other members heard from within the contact window
// and, after a bar, those that sent anything within memberlist's failure
// timeout: the directory decides on quorum from the first, and places
// conferences only on the second (a member unheard for longer is placed
// as if dead), so a change to either needs a new placement.
func (n *Node) reached() string {
	now := time.Now()
	failure := n.members.FailureTimeout()
	var near, heard []string
	for name, c := range n.members.Contacts() {
		if c.Within(now, contactWindow) {
			near = append(near, name)
		}
		if c.HeardWithin(now, failure) {
			heard = append(heard, name)
		}
	}
	slices.Sort(near)
	slices.Sort(heard)
	return strings.Join(near, ",") + "|" + strings.Join(heard, ",")
}

// sendPlacement gives the directory the current placement, and returns
// the members it reaches.
func (n *Node) sendPlacement() string {
	members := n.members.Members()
	reached := n.reached()
	reach := n.members.Reachable(contactWindow)
	quorum, disagreement := quorumOf(n.cfg.Node, n.cfg.ClusterSize, members)
	if disagreement != n.disagreement {
		if disagreement != "" {
			n.log.Error("not driving conferences: the cluster's configuration disagrees", "reason", disagreement)
		} else {
			n.log.Warn("the cluster's configuration agrees again")
		}
		n.disagreement = disagreement
	}
	n.system.Root.Send(n.directory, &directory.Placement{
		Self: n.cfg.Node, Members: members, Quorum: quorum, Reachable: reach,
		Contacts: n.members.Contacts, Heard: n.members.Heard, FailureTimeout: n.members.FailureTimeout(),
		Exited: n.members.Exited(),
	})
	names := make([]string, len(members))
	for i, m := range members {
		names[i] = m.Name
	}
	n.log.Debug("placement sent to the directory", "members", names, "reachable", reached)
	return reached
}

// inQuorum says whether this node reaches enough members to drive
// conferences, asked afresh rather than from the directory's last
// placement.
func (n *Node) inQuorum() bool {
	if n.members == nil {
		return true
	}
	members := n.members.Members()
	quorum, disagreement := quorumOf(n.cfg.Node, n.cfg.ClusterSize, members)
	return disagreement == "" && len(members) >= quorum && n.members.Reachable(contactWindow)+1 >= quorum
}

// mayResumeSince says whether this node may resume a shard session it has
// held since t (the last time it heard from the server on it): only if it
// has held a quorum without a break since before then. A node that woke
// from a stall runs for a moment on a view seconds old, and regains
// contact within a second: but others may have resumed the session
// meanwhile and acknowledged more to the server, and resuming it with a
// lower h would destroy it.
func (n *Node) mayResumeSince(t time.Time) bool {
	if n.members == nil {
		return true
	}
	return n.quorum.heldThrough(time.Now(), t) && n.inQuorum()
}

// quorumOf is the quorum a node configured for a cluster of size must see
// among members, or, with a reason, one it cannot reach: a member
// configured for another size, or more members than the size, means the
// nodes disagree about what a majority is, and then none of them may
// count on it.
func quorumOf(self string, size int, members []cluster.Member) (int, string) {
	if len(members) > size {
		return len(members) + 1, fmt.Sprintf("%d members, more than --cluster_size %d", len(members), size)
	}
	for _, m := range members {
		if m.Name != self && m.ClusterSize != 0 && m.ClusterSize != size {
			return len(members) + 1, fmt.Sprintf("member %s has --cluster_size %d, this node %d", m.Name, m.ClusterSize, size)
		}
	}
	return size/2 + 1, ""
}

// clusterMembers is GET /cluster's view of the cluster.
func (n *Node) clusterMembers() (string, []cluster.Member) {
	return n.cfg.Node, n.members.Members()
}

// stopMembership leaves the cluster and shuts gossip down. It does nothing
// on a node outside a cluster.
func (n *Node) stopMembership() {
	if n.members == nil {
		return
	}
	if err := n.members.Leave(leaveTimeout); err != nil {
		n.log.Warn("leave cluster", "err", err)
	}
	if err := n.members.Shutdown(); err != nil {
		n.log.Warn("shut down cluster membership", "err", err)
	}
}

// endpointSupervisor is the name under which protoactor's remote spawns
// the supervisor of its outgoing connections, one writer and one watcher
// per peer (remote/endpoint_manager.go in the pinned version).
const endpointSupervisor = "EndpointSupervisor"

// stopRemote stops the remote: the gRPC server, which cuts every peer's
// connection to this node (they notice at once, as after a crash); then,
// once the calls from peers still being handled have returned
// (inboundCalls), the outgoing connections, waiting until they are closed.
//
// It does not use protoactor's graceful shutdown (Shutdown(true)): that
// nils the endpoint manager's connection map while the goroutine reading a
// peer's connection may still be handling that peer's own shutdown with
// it, which the race detector reports and which can panic the node on its
// way out when neighbours stop at the same time.
func (n *Node) stopRemote() {
	if n.remote == nil {
		return
	}
	start := time.Now()
	n.remote.Shutdown(false)
	ctx, cancel := context.WithTimeout(context.Background(), inboundWait)
	err := n.inbound.wait(ctx)
	cancel()
	if err != nil {
		n.log.Warn("remote calls still running after the server stopped", "err", err)
	}
	if err := n.system.Root.StopFuture(n.system.NewLocalPID(endpointSupervisor)).Wait(); err != nil {
		n.log.Warn("close connections to other nodes", "err", err)
	}
	n.log.Debug("remote stopped", "took", time.Since(start))
}

// closeLiveness closes the liveness listener, which tells the others this
// process is gone: only once it has let go of everything.
func (n *Node) closeLiveness() {
	if n.liveness != nil {
		_ = n.liveness.Close()
	}
}

// abort undoes a Start that failed half-way.
func (n *Node) abort() {
	if n.members != nil {
		_ = n.members.Shutdown()
		n.unsubscribe()
	}
	n.closeLiveness()
	if n.remote != nil {
		n.remote.Shutdown(false)
	}
	n.listener.Close()
	n.system.Shutdown()
}

// drain announces this node as draining, which makes every other node (and
// this one) rank it last: each conference it drives is handed over to its
// new owner (standby joins, final state, then this node leaves the room),
// with nothing visible to participants. It returns once the directory
// drives nothing, or when ctx ends.
func (n *Node) drain(ctx context.Context) {
	start := time.Now()
	if err := n.members.SetDraining(true); err != nil {
		n.log.Warn("announce draining", "err", err)
		return
	}
	for {
		res, err := n.system.Root.RequestFuture(n.directory, &focalpb.ListRooms{}, time.Second).Result()
		if list, ok := res.(*focalpb.RoomList); err == nil && ok && len(list.Rooms) == 0 && len(list.Sessions) == 0 {
			n.log.Info("drained", "took", time.Since(start))
			return
		}
		select {
		case <-ctx.Done():
			n.log.Warn("drain incomplete", "err", ctx.Err())
			return
		case <-time.After(20 * time.Millisecond):
		}
	}
}
