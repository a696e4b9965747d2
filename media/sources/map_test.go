package sources

import "testing"

func TestRemovalFreesSSRCsAndMSIDs(t *testing.T) {
	conf := NewMap(Validator{})
	cam := sourceSimulcast(10, "cam")
	if _, err := conf.TryAdd("a", cam); err != nil {
		t.Fatal(err)
	}
	if _, err := conf.TryAdd("b", sourceSimulcast(10, "other")); err == nil {
		t.Fatal("SSRCs of a accepted for b")
	}
	removed, err := conf.TryRemove("a", Set{Sources: cam.Sources})
	if err != nil {
		t.Fatal(err)
	}
	if len(removed.Groups) != 4 {
		t.Fatalf("groups not removed with their sources: %v", removed)
	}
	if !conf.SourcesOf("a").Empty() || len(conf.Owners()) != 0 {
		t.Fatalf("a still has %v", conf.SourcesOf("a"))
	}
	if _, err := conf.TryAdd("b", sourceSimulcast(10, "cam")); err != nil {
		t.Fatalf("freed SSRCs and msid rejected: %v", err)
	}
	gone := conf.RemoveOwner("b")
	if len(gone.Sources) != 6 {
		t.Fatalf("RemoveOwner returned %v", gone)
	}
	if _, used := conf.SSRCOwner(10); used {
		t.Fatal("SSRC still owned after RemoveOwner")
	}
	if _, used := conf.MSIDOwner("cam"); used {
		t.Fatal("msid still owned after RemoveOwner")
	}
}

func TestMSIDStaysWhileAnotherSourceUsesIt(t *testing.T) {
	conf := NewMap(Validator{})
	if _, err := conf.TryAdd("a", Set{Sources: []Source{sourceA(1, "m"), sourceV(2, "m")}}); err != nil {
		t.Fatal(err)
	}
	if _, err := conf.TryRemove("a", Set{Sources: []Source{{SSRC: 1}}}); err != nil {
		t.Fatal(err)
	}
	if o, ok := conf.MSIDOwner("m"); !ok || o != "a" {
		t.Fatalf("msid owner %q %v", o, ok)
	}
	if _, err := conf.TryAdd("b", Set{Sources: []Source{sourceA(3, "m")}}); err == nil {
		t.Fatal("msid still used by a accepted for b")
	}
}

func TestRevisionMovesWithEveryChangeOnly(t *testing.T) {
	conf := NewMap(Validator{})
	rev := conf.Revision()
	step := func(what string, changes bool) {
		t.Helper()
		now := conf.Revision()
		if moved := now != rev; moved != changes {
			t.Fatalf("%s: revision %d → %d, want a change: %v", what, rev, now, changes)
		}
		rev = now
	}
	cam := sourceSimulcast(10, "cam")
	if _, err := conf.TryAdd("a", cam); err != nil {
		t.Fatal(err)
	}
	step("add", true)
	if _, err := conf.TryAdd("b", cam); err == nil {
		t.Fatal("SSRCs of a accepted for b")
	}
	step("refused add", false)
	conf.RemoveOwner("b")
	step("removing an endpoint without sources", false)
	_ = conf.SourcesOf("a")
	_ = conf.Except("b")
	step("reads", false)
	if _, err := conf.TryAdd("b", sourceSimulcast(20, "other")); err != nil {
		t.Fatal(err)
	}
	step("add for another", true)
	if _, err := conf.TryRemove("a", Set{Sources: cam.Sources}); err != nil {
		t.Fatal(err)
	}
	step("remove", true)
	conf.RemoveOwner("b")
	step("remove owner", true)
}
