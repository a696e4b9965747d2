// Package session keeps Focal's XMPP streams up: it dials, negotiates and
// re-dials them with backoff, queues outgoing stanzas without blocking the
// caller, and matches IQ responses to their requests. Client streams bind the
// resource asked for and may use XEP-0198 stream management (sm.go), whose
// sessions outlive a lost connection and can be resumed, by this process or
// another one.
package session
