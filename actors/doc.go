// Package actors groups Focal's actors: ingress (the wire's entry point),
// conference (one per room), participant (one per occupant) and bridge.
package actors
