// Package visitors decides when a conference request is sent to a visitor
// node and to which one, as Jicofo does: a visitor node is a second Prosody
// (Jitsi's mod_fmuc) to which the main Prosody (mod_visitors) federates a
// room, so that a large audience watches without joining the main room.
//
// The conference actor owns what a conference knows of its visitor nodes
// (which it uses, how many visitors each holds, its recent redirects) and
// asks this package for the decision; the node keeps one focus client
// connection to each configured node.
package visitors
