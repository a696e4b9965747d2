// Package cluster will hold membership (memberlist), placement (rendezvous
// hashing over live members) and replication of conference state.
package cluster
