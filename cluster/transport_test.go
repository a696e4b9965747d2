package cluster

import (
	"log"
	"log/slog"
	"net"
	"testing"
	"time"
)

// Every UDP packet is noted as heard from its sender, then passed on to
// memberlist unchanged; a TCP stream is not noted. Shutdown stops the
// relay (goleak checks).
func TestEveryPacketIsHeardFromItsSender(t *testing.T) {
	heard := make(chan string, 4)
	tr, err := newHearingTransport(net.IPv4(127, 0, 0, 1), 0, log.New(testWriter{t}, "", 0), func(from net.Addr) { heard <- from.String() })
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := tr.Shutdown(); err != nil {
			t.Error(err)
		}
	}()
	addr := &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: tr.GetAutoBindPort()}
	sender, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer sender.Close()
	if _, err := sender.WriteTo([]byte("ping"), addr); err != nil {
		t.Fatal(err)
	}
	select {
	case p := <-tr.PacketCh():
		if string(p.Buf) != "ping" || p.From.String() != sender.LocalAddr().String() {
			t.Errorf("relayed %q from %v, want \"ping\" from %v", p.Buf, p.From, sender.LocalAddr())
		}
	case <-time.After(5 * time.Second):
		t.Fatal("packet not relayed")
	}
	if got := <-heard; got != sender.LocalAddr().String() {
		t.Errorf("heard from %s, want %s", got, sender.LocalAddr())
	}
	conn, err := net.Dial("tcp", addr.String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	select {
	case <-tr.StreamCh():
	case <-time.After(5 * time.Second):
		t.Fatal("stream not passed on")
	}
	select {
	case got := <-heard:
		t.Errorf("a TCP stream counted as heard from %s", got)
	default:
	}
}

// A packet from a member's gossip address is heard from that member; one
// from anywhere else (an unknown port, this node) from nobody.
func TestHeardFromMapsGossipAddressesToMembers(t *testing.T) {
	v := newView("a", slog.New(slog.DiscardHandler))
	now := time.Unix(1000, 0)
	v.contacts.now = func() time.Time { return now }
	v.members["a"] = Member{Name: "a", Addr: "127.0.0.1:7001"}
	v.members["b"] = Member{Name: "b", Addr: "127.0.0.1:7002"}
	v.heardFrom(&net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 7002})
	v.heardFrom(&net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 7001})
	v.heardFrom(&net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 40000})
	if c := v.contacts.contact("b"); !c.Heard.Equal(now) || !c.Last.IsZero() {
		t.Errorf("b: %+v, want heard now and no contact", c)
	}
	if c := v.contacts.contact("a"); !c.Heard.IsZero() {
		t.Errorf("this node heard from itself: %+v", c)
	}
	if !v.contacts.contact("b").HeardWithin(now, time.Second) || v.contacts.contact("b").Within(now, time.Second) {
		t.Error("heard is not contact")
	}
}

// A member memberlist dropped is still heard from at its gossip address
// (a partition that cuts it off from this node alone may leave it a
// majority through the others).
func TestADepartedMemberIsStillHeard(t *testing.T) {
	v := newView("a", slog.New(slog.DiscardHandler))
	now := time.Unix(1000, 0)
	v.contacts.now = func() time.Time { return now }
	v.members["b"] = Member{Name: "b", Addr: "127.0.0.1:7002"}
	v.remove("b")
	if c := v.contacts.contact("b"); !c.Heard.IsZero() {
		t.Fatalf("b heard right after it was dropped: %+v", c)
	}
	now = now.Add(time.Second)
	v.heardFrom(&net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 7002})
	if c := v.contacts.contact("b"); !c.Heard.Equal(now) || !c.Last.IsZero() {
		t.Fatalf("b after a packet from its address: %+v, want heard now and no contact", c)
	}
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(string(p))
	return len(p), nil
}
