// Package xmpp holds the stanzas Focal speaks: a small XML element tree, the
// stanza envelope and errors, and one file per protocol (focus, muc, jingle,
// colibri2), each with golden-XML tests beside it.
package xmpp
