// Package directory holds each node's conference directory: the actor that
// starts conference actors and routes requests and stanzas to them, and
// the cluster's control plane on that node — placement of rooms by shard,
// replicas and standbys, fencing without quorum, the shard sessions the
// focus is in rooms with, handover and takeover.
package directory
