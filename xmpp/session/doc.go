// Package session keeps Focal's XMPP streams up: it dials, negotiates and
// re-dials them with backoff, queues outgoing stanzas without blocking the
// caller, and matches IQ responses to their requests.
package session
