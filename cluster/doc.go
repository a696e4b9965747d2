// Package cluster is Focal's cluster layer: who is alive (memberlist gossip) and which node owns a room (rendezvous hashing).
package cluster
