package api

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"runtime"
	"runtime/debug"
	"testing"
)

// garbage is what the collection must free: reachable until the test drops it.
var garbage []byte

// With DebugMemory, POST /debug/gc collects before it reads: 64 MiB dropped
// just before are not in the heap it reports, with the automatic collector
// off so that only the endpoint can have collected them. Without
// DebugMemory neither it nor the profiles exist.
func TestDebugGCCollectsBeforeItReads(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(-1))
	runtime.GC()
	garbage = make([]byte, 64<<20)
	for i := range garbage {
		garbage[i] = 1 // resident, not only reserved
	}
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	if before.HeapAlloc < 64<<20 {
		t.Fatalf("the heap holds %d bytes before the drop, want at least 64 MiB", before.HeapAlloc)
	}
	garbage = nil

	rec := httptest.NewRecorder()
	Handler(Config{DebugMemory: true}).ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/debug/gc", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
	var m Memory
	if err := json.Unmarshal(rec.Body.Bytes(), &m); err != nil {
		t.Fatal(err)
	}
	if m.HeapAlloc == 0 || m.HeapAlloc > before.HeapAlloc-48<<20 {
		t.Errorf("heap after the collection %d bytes, before the drop %d: the 64 MiB were not collected", m.HeapAlloc, before.HeapAlloc)
	}
	if m.RSS == 0 || m.Sys == 0 || m.Objects == 0 || m.Goroutine == 0 {
		t.Errorf("figures missing: %+v", m)
	}

	rec = httptest.NewRecorder()
	Handler(Config{DebugMemory: true}).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/debug/pprof/heap", nil))
	if rec.Code != http.StatusOK || rec.Body.Len() == 0 {
		t.Errorf("heap profile: status %d, %d bytes", rec.Code, rec.Body.Len())
	}

	for _, req := range []*http.Request{
		httptest.NewRequest(http.MethodPost, "/debug/gc", nil),
		httptest.NewRequest(http.MethodGet, "/debug/pprof/heap", nil),
	} {
		rec := httptest.NewRecorder()
		Handler(Config{}).ServeHTTP(rec, req)
		if rec.Code != http.StatusNotFound {
			t.Errorf("without DebugMemory %s %s: status %d, want 404", req.Method, req.URL.Path, rec.Code)
		}
	}
}
