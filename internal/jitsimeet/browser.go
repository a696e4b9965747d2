// Package jitsimeet runs the real Jitsi Meet client, lib-jitsi-meet, in headless Chromium for Focal's integration tests.
//
// A Browser is one Chromium process serving a small test page (page/) that
// loads the vendored library (web/); each Page is a tab of it that joins a
// conference through Prosody's websocket and reports lib-jitsi-meet's
// events to the test, which awaits them (Page.Await).
package jitsimeet

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"os"
	"os/exec"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// ChromiumPath is where Debian's chromium package puts the browser.
const ChromiumPath = "/usr/bin/chromium"

// startTimeout bounds the browser's start and a page's load.
const startTimeout = 60 * time.Second

//go:embed web/lib-jitsi-meet.min.js
var library embed.FS

//go:embed page/index.html page/page.js
var pageFiles embed.FS

// Browser is a headless Chromium with the test page served on loopback.
type Browser struct {
	t       testing.TB
	ctx     context.Context // the browser's chromedp context
	cancel  context.CancelFunc
	stopAll context.CancelFunc // the allocator
	server  *http.Server
	url     string // http://127.0.0.1:port/

	mu    sync.Mutex
	pages []*Page
}

// Start launches Chromium and the page server; both are stopped at tb's
// cleanup. A missing browser fails tb: these tests must run, not skip.
func Start(tb testing.TB) *Browser {
	tb.Helper()
	if _, err := exec.LookPath(ChromiumPath); err != nil {
		tb.Fatalf("jitsimeet: %s not found (install Debian's chromium package; scripts/test.sh does): %v", ChromiumPath, err)
	}
	b := &Browser{t: tb}
	if err := b.serve(); err != nil {
		tb.Fatalf("jitsimeet: %v", err)
	}
	// Not tb.TempDir(): Chromium may still be writing into its profile
	// while the test's own cleanup removes the directory.
	profile, err := os.MkdirTemp("", "focal-chromium-")
	if err != nil {
		tb.Fatalf("jitsimeet: %v", err)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(ChromiumPath),
		chromedp.Flag("headless", "new"),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-background-networking", true),
		// Loopback only: no component updates; WebRTC host candidates by
		// address rather than as mDNS names (whose registration is
		// multicast on the LAN), and loopback interfaces gathered too.
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-features", "Translate,BlinkGenPropertyTrees,WebRtcHideLocalIpsWithMdns"),
		chromedp.Flag("allow-loopback-in-peer-connection", true),
		chromedp.Flag("use-fake-device-for-media-stream", true),
		chromedp.Flag("use-fake-ui-for-media-stream", true),
		// Background tabs must keep their timers: every page is a tab,
		// and lib-jitsi-meet's keep-alives and retries run on timers.
		chromedp.Flag("disable-background-timer-throttling", true),
		chromedp.Flag("disable-renderer-backgrounding", true),
		chromedp.UserDataDir(profile),
	)
	allocCtx, stopAll := chromedp.NewExecAllocator(context.Background(), opts...)
	b.stopAll = stopAll
	b.ctx, b.cancel = chromedp.NewContext(allocCtx)
	tb.Cleanup(func() {
		b.close()
		if err := os.RemoveAll(profile); err != nil {
			tb.Logf("jitsimeet: remove the browser profile: %v", err)
		}
	})
	// The first Do starts the browser, and the context it gets lives as
	// long as the browser (so no timeout here: chromium has its own, 20 s
	// to print its address). Its first tab stays blank and unused.
	if err := chromedp.Do(b.ctx, chromedp.Navigate("about:blank")); err != nil {
		tb.Fatalf("jitsimeet: start chromium: %v", err)
	}
	return b
}

// serve starts the page server on a free loopback port. The page is a
// secure context there (http on 127.0.0.1), so getUserMedia works.
func (b *Browser) serve() error {
	lib, err := fs.Sub(library, "web")
	if err != nil {
		return fmt.Errorf("embedded library: %w", err)
	}
	page, err := fs.Sub(pageFiles, "page")
	if err != nil {
		return fmt.Errorf("embedded page: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle("/lib/", http.StripPrefix("/lib/", http.FileServerFS(lib)))
	mux.Handle("/", http.FileServerFS(page))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("listen for the page server: %w", err)
	}
	b.server = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	b.url = "http://" + ln.Addr().String() + "/"
	go func() {
		if err := b.server.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			b.t.Errorf("jitsimeet: page server: %v", err)
		}
	}()
	return nil
}

// close closes every page, then the browser (gracefully, then by killing
// it) and the page server.
func (b *Browser) close() {
	b.mu.Lock()
	pages := b.pages
	b.pages = nil
	b.mu.Unlock()
	for _, p := range pages {
		p.close()
	}
	if err := chromedp.Cancel(b.ctx); err != nil && !errors.Is(err, context.Canceled) {
		b.t.Logf("jitsimeet: close chromium: %v", err)
	}
	b.cancel()
	b.stopAll()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := b.server.Shutdown(ctx); err != nil {
		b.t.Logf("jitsimeet: stop the page server: %v", err)
	}
}
