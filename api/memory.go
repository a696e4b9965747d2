package api

import (
	"bufio"
	"bytes"
	"fmt"
	"net/http"
	"net/http/pprof"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
)

// Memory is what POST /debug/gc answers: the process's memory right after
// a full collection whose freed pages were given back to the system, so
// that a reading does not depend on when the collector last ran.
type Memory struct {
	RSS       uint64 `json:"rss"`        // resident set (VmRSS of /proc/self/status), bytes
	HeapAlloc uint64 `json:"heap_alloc"` // bytes of live heap objects
	HeapInuse uint64 `json:"heap_inuse"` // bytes in heap spans in use
	HeapSys   uint64 `json:"heap_sys"`   // heap bytes obtained from the system
	StackSys  uint64 `json:"stack_sys"`  // goroutine stacks
	Sys       uint64 `json:"sys"`        // everything the runtime obtained from the system
	Objects   uint64 `json:"objects"`    // live heap objects
	Goroutine int    `json:"goroutines"`
}

// debugRoutes adds the endpoints of Config.DebugMemory, POST /debug/gc,
// and, with it or Config.Pprof, Go's profiles under /debug/pprof/ (the
// heap's inuse_space is where per-conference memory is found, the CPU
// profile where a node's time goes). All are off by default: a collection
// on demand stalls the node, and profiles cost CPU and show its internals.
func (cfg Config) debugRoutes(mux *http.ServeMux) {
	if cfg.DebugMemory {
		mux.HandleFunc("POST /debug/gc", collect)
	}
	if !cfg.DebugMemory && !cfg.Pprof {
		return
	}
	mux.HandleFunc("GET /debug/pprof/", pprof.Index)
	mux.HandleFunc("GET /debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("GET /debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("GET /debug/pprof/trace", pprof.Trace)
}

// collect runs a full collection, returns freed memory to the system and
// answers the memory figures taken after it.
func collect(w http.ResponseWriter, _ *http.Request) {
	runtime.GC()
	debug.FreeOSMemory() // collects again, then releases
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	rss, err := residentBytes()
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	writeJSON(w, http.StatusOK, Memory{
		RSS: rss, HeapAlloc: ms.HeapAlloc, HeapInuse: ms.HeapInuse, HeapSys: ms.HeapSys,
		StackSys: ms.StackSys, Sys: ms.Sys, Objects: ms.HeapObjects, Goroutine: runtime.NumGoroutine(),
	})
}

// residentBytes reads this process's resident set size.
func residentBytes() (uint64, error) {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, fmt.Errorf("resident memory: %w", err)
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		rest, ok := bytes.CutPrefix(sc.Bytes(), []byte("VmRSS:"))
		if !ok {
			continue
		}
		kb, err := strconv.ParseUint(string(bytes.TrimSuffix(bytes.TrimSpace(rest), []byte(" kB"))), 10, 64)
		if err != nil {
			return 0, fmt.Errorf("resident memory: VmRSS %q: %w", rest, err)
		}
		return kb << 10, nil
	}
	return 0, fmt.Errorf("resident memory: no VmRSS in /proc/self/status")
}
