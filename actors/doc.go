// Package actors groups Focal's actors: ingress (the wire's entry point),
// directory (each node's rooms and its part of the cluster's control),
// conference (one per room), participant (one per occupant) and bridge
// (the brewery and colibri sessions).
package actors
