package conference

import (
	"crypto/sha256"
	"fmt"
	"testing"

	"github.com/asynkron/protoactor-go/actor"
	"google.golang.org/protobuf/proto"

	"focal/media/sources"
	"focal/proto"
)

// benchConference is a conference of n members, each with a Jingle state
// and a simulcast camera plus audio, on one bridge: the state the
// per-message replication check derives and compares.
func benchConference(b *testing.B, n int) *conference {
	cfg := DefaultConfig()
	c := newConference(cfg, Start{Room: "bench@conference.example"})
	bs := &bridgeSession{BridgeSessionState: &focalpb.BridgeSessionState{Jid: "brewery@internal/jvb1", Id: "s1"}}
	c.bridges[bs.Jid], c.bridgeOrder = bs, []string{bs.Jid}
	for i := range n {
		nick := fmt.Sprintf("p%04d", i)
		c.members[nick] = &member{MemberState: &focalpb.MemberState{
			Nick: nick, RealJid: nick + "@example/r", Role: "participant", Affiliation: "none", Seq: int32(i + 1),
			Bridge: bs.Jid, BridgeSession: bs.Id, Allocated: true,
			Jingle: &focalpb.JingleState{Sid: "sid-" + nick, State: focalpb.SessionState_SESSION_ACTIVE, Bridge: bs.Jid, BridgeSession: bs.Id,
				Features: []string{"urn:xmpp:jingle:apps:rtp:audio", "urn:xmpp:jingle:apps:rtp:video", "urn:ietf:rfc:4588"}},
		}}
		base := int64(i)*10 + 1
		set := sources.Set{
			Sources: []sources.Source{{SSRC: base, Media: sources.Audio, Name: nick + "-a0", MSID: nick + "-a"}},
		}
		for l := range int64(3) {
			set.Sources = append(set.Sources,
				sources.Source{SSRC: base + 1 + 2*l, Media: sources.Video, Name: nick + "-v0", MSID: nick + "-v"},
				sources.Source{SSRC: base + 2 + 2*l, Media: sources.Video, Name: nick + "-v0", MSID: nick + "-v"})
			set.Groups = append(set.Groups, sources.Group{Semantics: "FID", Media: sources.Video, SSRCs: []int64{base + 1 + 2*l, base + 2 + 2*l}})
		}
		set.Groups = append(set.Groups, sources.Group{Semantics: "SIM", Media: sources.Video, SSRCs: []int64{base + 1, base + 3, base + 5}})
		if _, err := c.sources.TryAdd(nick, set); err != nil {
			b.Fatal(err)
		}
	}
	return c
}

// BenchmarkReplicationCheck is what every message costs a conference that
// has a replica and whose state did not change: encode the live state and
// compare it with what was last sent. BenchmarkCopyAndCompare is the way
// it is not done: copying the state and comparing the messages.
func BenchmarkReplicationCheck(b *testing.B) {
	for _, n := range []int{2, 20, 100, 500} {
		b.Run(fmt.Sprintf("members=%d", n), func(b *testing.B) {
			c := benchConference(b, n)
			c.everJoin, c.replica = true, actor.NewPID("nowhere", "replica")
			enc, _ := deterministic.Marshal(c.stateView())
			c.replicated, c.hasReplicated = sha256.Sum256(enc), true
			b.ReportAllocs()
			for b.Loop() {
				c.replicateChanges(nil)
			}
		})
	}
}

func BenchmarkCopyAndCompare(b *testing.B) {
	for _, n := range []int{2, 20, 100, 500} {
		b.Run(fmt.Sprintf("members=%d", n), func(b *testing.B) {
			c := benchConference(b, n)
			last := c.replicatedState()
			b.ReportAllocs()
			for b.Loop() {
				if !proto.Equal(c.replicatedState(), last) {
					b.Fatal("state changed")
				}
			}
		})
	}
}
