package cluster

import (
	"log"
	"net"
	"sync"

	"github.com/hashicorp/memberlist"
)

// hearingTransport is memberlist's own transport (UDP packets, TCP
// streams) that notes every UDP packet's sender as heard from before
// memberlist reads it (see contacts.heard). A packet from a member's
// gossip address shows that the member can send to this node, whatever
// it is: a probe of this node, an ack that came too late for memberlist to
// count, gossip. Streams are not noted: a TCP connection this node opens
// is answered over the same connection by a member whose own packets are
// all dropped (a one-way partition), and their source port is not the
// member's gossip port anyway.
type hearingTransport struct {
	*memberlist.NetTransport
	heard    func(from net.Addr)
	packets  chan *memberlist.Packet
	stop     chan struct{}
	stopOnce sync.Once
	relayed  chan struct{}
}

var _ memberlist.NodeAwareTransport = (*hearingTransport)(nil)

func newHearingTransport(ip net.IP, port int, logger *log.Logger, heard func(from net.Addr)) (*hearingTransport, error) {
	nt, err := memberlist.NewNetTransport(&memberlist.NetTransportConfig{
		BindAddrs: []string{ip.String()},
		BindPort:  port,
		Logger:    logger,
	})
	if err != nil {
		return nil, err
	}
	t := &hearingTransport{
		NetTransport: nt,
		heard:        heard,
		packets:      make(chan *memberlist.Packet),
		stop:         make(chan struct{}),
		relayed:      make(chan struct{}),
	}
	go t.relay()
	return t, nil
}

// relay passes packets on to memberlist, noting their senders.
func (t *hearingTransport) relay() {
	defer close(t.relayed)
	in := t.NetTransport.PacketCh()
	for {
		select {
		case p := <-in:
			t.heard(p.From)
			select {
			case t.packets <- p:
			case <-t.stop:
				return
			}
		case <-t.stop:
			return
		}
	}
}

// PacketCh is where memberlist reads packets: the relay's.
func (t *hearingTransport) PacketCh() <-chan *memberlist.Packet { return t.packets }

// Shutdown stops the listeners, then the relay. memberlist reads packets
// until its transport has shut down, so the relay is never stuck before.
func (t *hearingTransport) Shutdown() error {
	err := t.NetTransport.Shutdown()
	t.stopOnce.Do(func() { close(t.stop) })
	<-t.relayed
	return err
}
