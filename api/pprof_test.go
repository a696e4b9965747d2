package api

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// The runtime's profiles are served only when asked for.
func TestPprofOnlyWhenAskedFor(t *testing.T) {
	for _, on := range []bool{false, true} {
		rec := httptest.NewRecorder()
		Handler(Config{Pprof: on}).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/debug/pprof/goroutine?debug=1", nil))
		want := http.StatusNotFound
		if on {
			want = http.StatusOK
		}
		if rec.Code != want {
			t.Errorf("pprof %v: status %d, want %d", on, rec.Code, want)
		}
	}
}
