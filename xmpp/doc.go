// Package xmpp holds the wire formats Focal speaks: a small XML element tree,
// the stanza envelope and errors, and one file per namespace or protocol
// (focus, muc, jingle and its extensions, colibri2), each with golden-XML
// tests beside it. Policy (what to offer, which sources to accept) lives
// above it, in the media packages.
package xmpp
