package session

import "io"

// TeeClientDialer is ClientDialer with a copy of the stream after TLS: what
// is read goes to in, what is written to out.
func TeeClientDialer(opts ClientOptions, in, out io.Writer) Dialer {
	return clientDialer(opts, in, out)
}

// SMCounters returns the outbound stream management bookkeeping: stanzas
// written but not acknowledged, stanzas written in all, and the last h the
// server acknowledged.
func (s *Session) SMCounters() (unacked int, outH, ackedH uint32) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.sm == nil {
		return 0, 0, 0
	}
	return len(s.sm.unacked), s.sm.outH, s.sm.ackedH
}
