package jitsimeet_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"focal/internal/clustertest"
	"focal/internal/jitsimeet"
	"focal/internal/prosodytest"
)

func TestMain(m *testing.M) { os.Exit(clustertest.Main(m)) }

// testTimeout bounds a whole test; every wait inside is on an event.
const testTimeout = 4 * time.Minute

// deployment is a focus (one node or several) with a simulated bridge,
// behind a private Prosody, and a browser to run pages in.
type deployment struct {
	c       *clustertest.Cluster
	browser *jitsimeet.Browser
}

func deploy(t *testing.T, opts clustertest.Options) (*deployment, context.Context) {
	t.Helper()
	if opts.Nodes == 0 {
		opts.Nodes = 1
	}
	if opts.Bridges == 0 {
		opts.Bridges = 1
	}
	c := clustertest.Start(t, opts)
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	t.Cleanup(cancel)
	if err := c.WaitCluster(ctx, opts.Nodes); err != nil {
		t.Fatal(err)
	}
	if _, err := c.ComponentHolder(ctx); err != nil {
		t.Fatal(err)
	}
	return &deployment{c: c, browser: jitsimeet.Start(t)}, ctx
}

// open opens n pages named prefix1..prefixN.
func (d *deployment) open(ctx context.Context, t *testing.T, prefix string, n int) []*jitsimeet.Page {
	t.Helper()
	pages := make([]*jitsimeet.Page, n)
	for i := range pages {
		p, err := d.browser.Open(ctx, t, fmt.Sprintf("%s%d", prefix, i+1))
		if err != nil {
			t.Fatal(err)
		}
		pages[i] = p
	}
	return pages
}

// join has each page join room, one after the other as people arrive
// (each once in the conference before the next), and returns their ids.
func (d *deployment) join(ctx context.Context, t *testing.T, room string, pages []*jitsimeet.Page) []string {
	t.Helper()
	ids := make([]string, len(pages))
	for i, p := range pages {
		if err := p.Join(ctx, jitsimeet.ConfigFor(d.c.Prosody, room)); err != nil {
			t.Fatal(err)
		}
		ev, err := p.AwaitJoined(ctx)
		if err != nil {
			t.Fatal(err)
		}
		ids[i] = ev.Participant
	}
	return ids
}

// others is ids without the i-th.
func others(ids []string, i int) []string {
	out := make([]string, 0, len(ids)-1)
	for j, id := range ids {
		if j != i {
			out = append(out, id)
		}
	}
	return out
}

// awaitFullMesh waits until every page has the remote audio and video
// track of every other page, and logs per page the time after its join()
// to CONFERENCE_JOINED and to its last remote track.
func awaitFullMesh(ctx context.Context, t *testing.T, pages []*jitsimeet.Page, ids []string) {
	t.Helper()
	for i, p := range pages {
		last, err := p.AwaitRemoteTracks(ctx, others(ids, i)...)
		if err != nil {
			t.Fatal(err)
		}
		joined, _ := p.AwaitJoined(ctx)
		t.Logf("%s (%s): CONFERENCE_JOINED %v after join(), every remote track %v after join()",
			p.Name, ids[i], joined.Since().Round(time.Millisecond), last.Round(time.Millisecond))
	}
}

// noFailures fails the test for any page on which lib-jitsi-meet gave up.
// Uncaught exceptions that lib-jitsi-meet survives are only logged: one
// of its own races throws in codec selection when a participant joins
// while the page's session is being set up (getConfiguredVideoCodec reads
// the video m-line of a local description that has none yet), whatever
// the focus does.
func noFailures(t *testing.T, pages []*jitsimeet.Page) {
	t.Helper()
	for _, p := range pages {
		for _, e := range p.Failures() {
			if e.Type == jitsimeet.PageError {
				t.Logf("%s: %s (survived)", p.Name, e)
				continue
			}
			t.Errorf("%s: %s", p.Name, e)
		}
	}
}

// Three and five Jitsi Meet clients, simulcast on, join one room one after
// the other: each is in the conference and has a remote audio and video
// track of every other, and none fails its offer/answer.
func TestPagesJoinAndSeeEveryRemoteTrack(t *testing.T) {
	for _, n := range []int{3, 5} {
		t.Run(fmt.Sprintf("%d pages", n), func(t *testing.T) {
			d, ctx := deploy(t, clustertest.Options{})
			pages := d.open(ctx, t, "page", n)
			ids := d.join(ctx, t, fmt.Sprintf("mesh%d", n), pages)
			awaitFullMesh(ctx, t, pages, ids)
			noFailures(t, pages)
		})
	}
}

// What the join test guards against, shown to be caught: with simulcast
// stripping off, the third page's session-initiate offers every layer of
// the others' cameras, Chromium rejects the description (duplicate
// a=msid) and lib-jitsi-meet fails the conference with offerAnswerFailed.
func TestUnstrippedSimulcastFailsTheThirdPage(t *testing.T) {
	d, ctx := deploy(t, clustertest.Options{Args: []string{"--strip_simulcast=false"}})
	pages := d.open(ctx, t, "page", 3)
	// The first two in session with each other first, so that the third
	// page's session-initiate carries their sources (lib-jitsi-meet takes
	// the same sources in a later source-add).
	ids := d.join(ctx, t, "unstripped", pages[:2])
	awaitFullMesh(ctx, t, pages[:2], ids)
	if err := pages[2].Join(ctx, jitsimeet.ConfigFor(d.c.Prosody, "unstripped")); err != nil {
		t.Fatal(err)
	}
	ev, err := pages[2].Await(ctx, "offerAnswerFailed", func(e jitsimeet.Event) bool {
		return e.Type == jitsimeet.ConferenceFailed
	})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(ev.Detail, "offerAnswerFailed") {
		t.Fatalf("%s failed, but not with offerAnswerFailed: %s", pages[2].Name, ev)
	}
	t.Logf("%s: %s", pages[2].Name, ev)
}

// The first page in a room is made moderator by the focus; the pages that
// come after it are not.
func TestFirstPageIsModerator(t *testing.T) {
	d, ctx := deploy(t, clustertest.Options{})
	pages := d.open(ctx, t, "page", 3)
	ids := d.join(ctx, t, "moderated", pages)
	if _, err := pages[0].Await(ctx, "moderator role", func(e jitsimeet.Event) bool {
		return (e.Type == jitsimeet.ConferenceJoined && e.Moderator) ||
			(e.Type == jitsimeet.UserRoleChanged && e.Local && e.Detail == "moderator")
	}); err != nil {
		t.Fatal(err)
	}
	// Every page in session first, so that a late grant would have come.
	awaitFullMesh(ctx, t, pages, ids)
	for _, p := range pages[1:] {
		if n := p.Count(func(e jitsimeet.Event) bool {
			return (e.Type == jitsimeet.ConferenceJoined && e.Moderator) ||
				(e.Type == jitsimeet.UserRoleChanged && e.Local && e.Detail == "moderator")
		}); n > 0 {
			t.Errorf("%s was made moderator, but only the first page should be", p.Name)
		}
	}
	noFailures(t, pages)
}

// A page that leaves is gone from the others: USER_LEFT, and its audio
// and video tracks removed; the pages that stay keep each other's tracks.
func TestLeaveRemovesTracksAtTheOthers(t *testing.T) {
	d, ctx := deploy(t, clustertest.Options{})
	pages := d.open(ctx, t, "page", 3)
	ids := d.join(ctx, t, "leaving", pages)
	awaitFullMesh(ctx, t, pages, ids)

	leaver, gone := pages[2], ids[2]
	if err := leaver.Leave(ctx); err != nil {
		t.Fatal(err)
	}
	for i, p := range pages[:2] {
		if _, err := p.Await(ctx, "USER_LEFT of "+gone, func(e jitsimeet.Event) bool {
			return e.Type == jitsimeet.UserLeft && e.Participant == gone
		}); err != nil {
			t.Fatal(err)
		}
		for _, media := range []string{"audio", "video"} {
			if _, err := p.Await(ctx, media+" track of "+gone+" removed", func(e jitsimeet.Event) bool {
				return e.Type == jitsimeet.TrackRemoved && e.Participant == gone && e.Media == media
			}); err != nil {
				t.Fatal(err)
			}
		}
		tracks := p.RemoteTracks()
		if n := tracks[gone]["audio"] + tracks[gone]["video"]; n != 0 {
			t.Errorf("%s still has %d tracks of %s after it left: %v", p.Name, n, gone, tracks)
		}
		other := ids[1-i]
		if tracks[other]["audio"] != 1 || tracks[other]["video"] != 1 {
			t.Errorf("%s should keep one audio and one video track of %s: %v", p.Name, other, tracks)
		}
	}
	noFailures(t, pages)
}

// The join test inside a Prosody configured as a Jitsi Meet deployment,
// with Jitsi's own modules (focus lock, meeting id, rate limits, lobby,
// breakout rooms, the components): the pages get in, with every remote
// track, and the meeting id the modules give the room reaches them.
func TestPagesJoinInAJitsiDeployment(t *testing.T) {
	plugins, err := prosodytest.JitsiPluginsDir()
	if err != nil {
		t.Fatalf("the Jitsi deployment needs Jitsi Meet's Prosody modules: %v", err)
	}
	for _, n := range []int{3, 5} {
		t.Run(fmt.Sprintf("%d pages", n), func(t *testing.T) {
			d, ctx := deploy(t, clustertest.Options{Prosody: prosodytest.Options{JitsiPlugins: plugins}})
			pages := d.open(ctx, t, "page", n)
			ids := d.join(ctx, t, fmt.Sprintf("jitsi%d", n), pages)
			awaitFullMesh(ctx, t, pages, ids)
			// Loaded, not only configured: mod_muc_meeting_id's id came
			// to the clients through the room's disco#info.
			var meeting string
			for _, p := range pages {
				ev, err := p.Await(ctx, "meeting id", func(e jitsimeet.Event) bool {
					return e.Type == jitsimeet.MeetingIDSet && e.Detail != ""
				})
				if err != nil {
					t.Fatal(err)
				}
				if meeting != "" && ev.Detail != meeting {
					t.Errorf("%s: meeting id %q, the others %q", p.Name, ev.Detail, meeting)
				}
				meeting = ev.Detail
			}
			noFailures(t, pages)
			prosodyErrors(t, d.c.Prosody)
		})
	}
}

// The bridge is simulated, so ICE never connects: lib-jitsi-meet sees the
// failure and asks the focus for a new session (session-terminate with
// <bridge-session restart='true'/>, Jitsi Meet's default) or, with
// enableIceRestart, for an in-place ICE restart (session-info with
// <bridge-session ice-restart='true'/>). Either way the page is given a
// new transport and stays in the conference with the other's tracks.
func TestIceFailureGetsANewTransport(t *testing.T) {
	for _, inPlace := range []bool{false, true} {
		name := "session restart"
		if inPlace {
			name = "in-place ICE restart"
		}
		t.Run(name, func(t *testing.T) {
			d, ctx := deploy(t, clustertest.Options{})
			pages := d.open(ctx, t, "page", 2)
			room := "icefail"
			if inPlace {
				room = "icerestart"
			}
			ids := make([]string, len(pages))
			for i, p := range pages {
				cfg := jitsimeet.ConfigFor(d.c.Prosody, room)
				if inPlace {
					cfg.Conference = map[string]any{"enableIceRestart": true}
				}
				if err := p.Join(ctx, cfg); err != nil {
					t.Fatal(err)
				}
				ev, err := p.AwaitJoined(ctx)
				if err != nil {
					t.Fatal(err)
				}
				ids[i] = ev.Participant
			}
			awaitFullMesh(ctx, t, pages, ids)

			p, other := pages[0], ids[1]
			first, err := p.Await(ctx, "the first Jingle session", func(e jitsimeet.Event) bool { return e.Type == jitsimeet.SessionInitiate })
			if err != nil {
				t.Fatal(err)
			}
			failed, err := p.Await(ctx, "ICE failure", func(e jitsimeet.Event) bool {
				return e.Type == jitsimeet.IceFailed || (e.Type == jitsimeet.IceState && e.Detail == "failed")
			})
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%s: ICE failed %v after its session-initiate arrived", p.Name, failed.At.Sub(first.At).Round(time.Millisecond))
			mark := p.Mark()

			if inPlace {
				asked, err := p.AwaitAfter(ctx, mark, "session-info ice-restart", func(e jitsimeet.Event) bool {
					return e.Type == jitsimeet.Stanza && e.Dir == "out" && strings.Contains(e.Detail, "session-info") && strings.Contains(e.Detail, "ice-restart")
				})
				if err != nil {
					t.Fatal(err)
				}
				answer, err := p.AwaitAfter(ctx, mark, "transport-info with the new transport", func(e jitsimeet.Event) bool {
					return e.Type == jitsimeet.Stanza && e.Dir == "in" && strings.Contains(e.Detail, "transport-info") && strings.Contains(e.Detail, first.SID)
				})
				if err != nil {
					t.Fatal(err)
				}
				t.Logf("%s: asked for an ICE restart %v after the failure; transport-info %v later",
					p.Name, asked.At.Sub(failed.At).Round(time.Millisecond), answer.At.Sub(asked.At).Round(time.Millisecond))
			} else {
				asked, err := p.AwaitAfter(ctx, mark, "session-terminate asking for a restart", func(e jitsimeet.Event) bool {
					return e.Type == jitsimeet.Stanza && e.Dir == "out" && strings.Contains(e.Detail, "session-terminate") && strings.Contains(e.Detail, "restart")
				})
				if err != nil {
					t.Fatal(err)
				}
				again, err := p.AwaitAfter(ctx, mark, "a new session-initiate", func(e jitsimeet.Event) bool {
					return e.Type == jitsimeet.SessionInitiate && e.SID != first.SID
				})
				if err != nil {
					t.Fatal(err)
				}
				t.Logf("%s: asked for a new session %v after the failure; re-invited %v later",
					p.Name, asked.At.Sub(failed.At).Round(time.Millisecond), again.At.Sub(asked.At).Round(time.Millisecond))
				// The new session brings the other's tracks back.
				for _, media := range []string{"audio", "video"} {
					if _, err := p.AwaitAfter(ctx, again.Seq+1, media+" track of "+other+" in the new session", func(e jitsimeet.Event) bool {
						return e.Type == jitsimeet.TrackAdded && e.Participant == other && e.Media == media
					}); err != nil {
						t.Fatal(err)
					}
				}
			}
			tracks := p.RemoteTracks()
			if tracks[other]["audio"] != 1 || tracks[other]["video"] != 1 {
				t.Errorf("%s: remote tracks of %s after the restart: %v", p.Name, other, tracks)
			}
			for _, e := range p.Events()[mark:] {
				if e.Type == jitsimeet.ConferenceJoined || e.Type == jitsimeet.ConferenceLeft {
					t.Errorf("%s: %s after the ICE failure", p.Name, e)
				}
			}
			noFailures(t, pages)
		})
	}
}

// prosodyErrors fails the test for any error Prosody logged (a module
// that did not load, a hook that threw).
func prosodyErrors(t *testing.T, p *prosodytest.Server) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(p.Base, "console.log"))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if strings.Contains(line, "\terror\t") {
			t.Errorf("prosody: %s", line)
		}
	}
}
