package bridgesim

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"time"

	"focal/xmpp"
)

// controlStartTimeout bounds a restart requested over HTTP.
const controlStartTimeout = 30 * time.Second

// Status is the JSON view of a bridge served by ControlHandler.
type Status struct {
	Nick        string            `json:"nick"`
	JID         string            `json:"jid"`
	Fingerprint string            `json:"fingerprint"` // DTLS, in every transport it allocates: which bridge a session-initiate points at
	Running     bool              `json:"running"`
	Connected   bool              `json:"connected"`
	Joined      bool              `json:"joined"`
	Left        bool              `json:"left"`
	Hung        bool              `json:"hung"`
	Dead        bool              `json:"dead"`
	JoinError   string            `json:"join_error,omitempty"`
	Stats       map[string]string `json:"stats"`
	Conferences int               `json:"conferences"`
	Endpoints   int               `json:"endpoints"`
	Counters    Counters          `json:"counters"`
	// Meetings lists each conference's endpoint ids, and Sources the number
	// of sources the focus signalled for each endpoint (by "meeting/endpoint");
	// only in the answer about a single bridge.
	Meetings map[string][]string `json:"meetings,omitempty"`
	Sources  map[string]int      `json:"sources,omitempty"`
	// ForceMute is what the focus last told the bridge to drop of each
	// endpoint's media (by "meeting/endpoint"; absent: never told).
	ForceMute map[string]xmpp.Colibri2ForceMute `json:"force_mute,omitempty"`
}

// StatusOf summarises b; with detail it lists the conferences' endpoints.
func StatusOf(b *Bridge, detail bool) Status {
	st := b.State()
	out := Status{
		Nick: st.Nick, JID: b.JID(), Fingerprint: b.fingerprint, Running: st.Running, Connected: st.Connected, Joined: st.Joined,
		Left: st.Left, Hung: st.Hung, Dead: st.Dead, Stats: st.Stats.Map(),
		Conferences: len(st.Conferences), Counters: st.Counters,
	}
	if st.JoinError != nil {
		out.JoinError = st.JoinError.Error()
	}
	if detail {
		out.Meetings = make(map[string][]string, len(st.Conferences))
		out.Sources = make(map[string]int)
		out.ForceMute = make(map[string]xmpp.Colibri2ForceMute)
	}
	for id, c := range st.Conferences {
		out.Endpoints += len(c.Endpoints)
		if detail {
			eps := make([]string, 0, len(c.Endpoints))
			for ep, e := range c.Endpoints {
				eps = append(eps, ep)
				if e.ForceMute != nil {
					out.ForceMute[id+"/"+ep] = *e.ForceMute
				}
				if e.Sources != nil {
					for _, ms := range e.Sources.MediaSources {
						out.Sources[id+"/"+ep] += len(ms.Sources)
					}
				}
			}
			slices.Sort(eps)
			out.Meetings[id] = eps
		}
	}
	return out
}

// ControlHandler serves fault controls for bridges, by nickname:
//
//	GET  /bridges                  status of every bridge (JSON array)
//	GET  /bridges/{nick}           status of one bridge, with its conferences
//	GET  /bridges/{nick}/journal   every conference-modify it received (JSON array of Request)
//	POST /bridges/{nick}/hang      stop answering IQs (stream and presence stay)
//	POST /bridges/{nick}/resume    answer IQs again
//	POST /bridges/{nick}/die       cut the socket without leaving the brewery
//	POST /bridges/{nick}/start     start again after die or stop
//	POST /bridges/{nick}/stop      leave the brewery and close the stream cleanly
//	POST /bridges/{nick}/leave     leave the brewery, keep the stream
//	POST /bridges/{nick}/join      re-enter the brewery after leave
//	POST /bridges/{nick}/graceful  publish graceful_shutdown=true (?value=false clears it)
//	POST /bridges/{nick}/shutdown  publish shutting_down=true (?value=false clears it)
//	POST /bridges/{nick}/stats?stress=0.5&region=eu&...  change any stats by name
//
// Actions answer with the bridge's status; unknown bridges and actions get
// 404, bad values 400, failed starts 502.
func ControlHandler(bridges []*Bridge) http.Handler {
	byNick := make(map[string]*Bridge, len(bridges))
	for _, b := range bridges {
		byNick[b.Nick()] = b
	}
	lookup := func(w http.ResponseWriter, r *http.Request) *Bridge {
		b, ok := byNick[r.PathValue("nick")]
		if !ok {
			http.Error(w, "no bridge "+r.PathValue("nick"), http.StatusNotFound)
		}
		return b
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /bridges", func(w http.ResponseWriter, _ *http.Request) {
		out := make([]Status, 0, len(bridges))
		for _, b := range bridges {
			out = append(out, StatusOf(b, false))
		}
		writeJSON(w, out)
	})
	mux.HandleFunc("GET /bridges/{nick}", func(w http.ResponseWriter, r *http.Request) {
		if b := lookup(w, r); b != nil {
			writeJSON(w, StatusOf(b, true))
		}
	})
	mux.HandleFunc("GET /bridges/{nick}/journal", func(w http.ResponseWriter, r *http.Request) {
		if b := lookup(w, r); b != nil {
			writeJSON(w, b.Journal())
		}
	})
	mux.HandleFunc("POST /bridges/{nick}/{action}", func(w http.ResponseWriter, r *http.Request) {
		b := lookup(w, r)
		if b == nil {
			return
		}
		if code, msg := control(r, b, r.PathValue("action")); code != http.StatusOK {
			http.Error(w, msg, code)
			return
		}
		writeJSON(w, StatusOf(b, false))
	})
	return mux
}

// control runs one action and returns the HTTP status and, on failure, why.
func control(r *http.Request, b *Bridge, action string) (int, string) {
	var err error
	switch action {
	case "hang":
		b.Hang()
	case "resume":
		b.Resume()
	case "die":
		b.Die()
	case "stop":
		b.Stop()
	case "start":
		ctx, cancel := context.WithTimeout(r.Context(), controlStartTimeout)
		defer cancel()
		if err := b.Start(ctx); err != nil {
			return http.StatusBadGateway, err.Error()
		}
	case "leave":
		err = b.Leave()
	case "join":
		err = b.Rejoin()
	case "graceful", "shutdown", "stats":
		if err := r.ParseForm(); err != nil {
			return http.StatusBadRequest, err.Error()
		}
		apply := statsChange(action, r.Form)
		probe := b.Stats()
		if err := apply(&probe); err != nil {
			return http.StatusBadRequest, err.Error()
		}
		err = b.UpdateStats(func(st *Stats) { _ = apply(st) })
	default:
		return http.StatusNotFound, "unknown action " + action
	}
	if err != nil {
		return http.StatusBadGateway, err.Error()
	}
	return http.StatusOK, ""
}

// statsChange returns the change a stats action makes: graceful and shutdown
// set one flag (to the form's value, default true), stats sets every stat
// named in the form.
func statsChange(action string, form url.Values) func(*Stats) error {
	flag := map[string]string{"graceful": xmpp.StatGracefulShutdown, "shutdown": xmpp.StatShuttingDown}[action]
	return func(st *Stats) error {
		if flag != "" {
			v := form.Get("value")
			if v == "" {
				v = "true"
			}
			return st.Set(flag, v)
		}
		for name, vs := range form {
			if err := st.Set(name, vs[len(vs)-1]); err != nil {
				return err
			}
		}
		return nil
	}
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}
