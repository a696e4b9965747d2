package cluster

import "strconv"

// Shards group rooms for placement. The unit a node can hand to another
// without participants noticing is an XMPP session (the focus occupant in
// each of its rooms), and a session cannot be split: so rooms are placed in
// fixed buckets, each with its own focus session, and the buckets, not the
// rooms, are ranked by rendezvous hashing. A bucket's owner drives all its
// rooms; when it dies or hands over, the next owner resumes the bucket's
// session and with it every room's occupant, intact.
//
// The count is part of the wire protocol like the score function: every
// node must use the same one (DefaultShards unless configured).

// DefaultShards is enough buckets that a few nodes share them evenly
// (rendezvous hashing spreads 64 keys over 3 members within about ±25 %),
// and few enough that failover resumes a handful of sessions, not one per
// conference.
const DefaultShards = 64

// Shard returns the bucket of room among n (n > 0).
func Shard(room string, n int) int {
	return int(keyHash(room) % uint64(n))
}

// ShardKey is what placement ranks members for, for shard i.
func ShardKey(i int) string { return "shard/" + strconv.Itoa(i) }
