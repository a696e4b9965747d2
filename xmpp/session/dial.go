package session

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"time"

	"mellium.im/sasl"
	mxmpp "mellium.im/xmpp"
	"mellium.im/xmpp/component"
	"mellium.im/xmpp/jid"

	"focal/xmpp"
)

// Dialer opens and negotiates one stream. It returns the stream and the
// namespace its stanzas are in. The context a Session dials with may ask for
// an XEP-0198 resumption in place of binding (ClientDialer does it): a Dialer
// that wraps another must pass the context on.
type Dialer func(ctx context.Context) (*mxmpp.Session, string, error)

// ComponentDialer dials an XEP-0114 external component stream to addr and
// authenticates as domain with secret.
func ComponentDialer(addr, domain, secret string) Dialer {
	return func(ctx context.Context) (*mxmpp.Session, string, error) {
		j, err := jid.Parse(domain)
		if err != nil {
			return nil, "", fmt.Errorf("component domain %q: %w", domain, err)
		}
		conn, err := (&net.Dialer{}).DialContext(ctx, "tcp", addr)
		if err != nil {
			return nil, "", fmt.Errorf("dial component %s: %w", addr, err)
		}
		s, err := component.NewSession(ctx, j, []byte(secret), conn)
		if err != nil {
			conn.Close()
			return nil, "", fmt.Errorf("component handshake as %s: %w", domain, err)
		}
		return s, xmpp.NSComponent, nil
	}
}

// ClientOptions say how a client stream logs in.
type ClientOptions struct {
	Addr string // host:port of the c2s listener
	// JID is user@domain/resource. The resource is bound as given (a server
	// that binds another one is refused); without one the server picks it.
	// An empty localpart logs in anonymously.
	JID      string
	Password string
	// TLS is the STARTTLS config. mellium negotiates SASL only on an
	// encrypted stream, so against a server that offers STARTTLS (Prosody
	// does) it is required; nil works only with servers that do not offer it.
	TLS *tls.Config
	// Timeout bounds connecting and negotiating (TLS, SASL, binding or
	// resuming); 0 means DefaultDialTimeout.
	Timeout time.Duration
}

// DefaultDialTimeout bounds a client dial when ClientOptions.Timeout is 0.
const DefaultDialTimeout = 30 * time.Second

// ClientDialer dials a c2s stream. SCRAM is preferred over PLAIN; with no
// localpart in the JID it uses SASL ANONYMOUS (how Jitsi participants log in).
// Run by a Session with StreamManagement, it resumes the Session's XEP-0198
// session in place of binding when there is one to resume.
func ClientDialer(opts ClientOptions) Dialer {
	return clientDialer(opts, nil, nil)
}

// clientDialer is ClientDialer with mellium's tee: a copy of what is read
// (teeIn) and written (teeOut) after TLS, for tests.
func clientDialer(opts ClientOptions, teeIn, teeOut io.Writer) Dialer {
	timeout := opts.Timeout
	if timeout <= 0 {
		timeout = DefaultDialTimeout
	}
	return func(ctx context.Context) (*mxmpp.Session, string, error) {
		ctx, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		j, err := jid.Parse(opts.JID)
		if err != nil {
			return nil, "", fmt.Errorf("client JID %q: %w", opts.JID, err)
		}
		conn, err := (&net.Dialer{}).DialContext(ctx, "tcp", opts.Addr)
		if err != nil {
			return nil, "", fmt.Errorf("dial client %s: %w", opts.Addr, err)
		}
		var features []mxmpp.StreamFeature
		if opts.TLS != nil {
			features = append(features, mxmpp.StartTLS(opts.TLS))
		}
		if j.Localpart() == "" {
			features = append(features, mxmpp.SASL("", "", sasl.Anonymous))
		} else {
			features = append(features, mxmpp.SASL("", opts.Password, sasl.ScramSha256, sasl.ScramSha1, sasl.Plain))
		}
		features = append(features, bindFeature(j))
		s, err := mxmpp.NewSession(ctx, j.Domain(), j, conn, 0, mxmpp.NewNegotiator(
			func(*mxmpp.Session, *mxmpp.StreamConfig) mxmpp.StreamConfig {
				return mxmpp.StreamConfig{Features: features, TeeIn: teeIn, TeeOut: teeOut}
			}))
		if err != nil {
			conn.Close()
			return nil, "", fmt.Errorf("log in as %s: %w", opts.JID, err)
		}
		return s, xmpp.NSClient, nil
	}
}
