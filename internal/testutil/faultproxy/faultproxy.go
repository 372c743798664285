// Package faultproxy is a reverse proxy to a Kubernetes API server that makes
// some requests fail, for tests that prove a client (the apply command, with its
// controller-runtime clients and informers) converges despite a flaky server.
//
// The faults are the ones real clusters produce: throttling (429 with
// Retry-After), server errors (500, 503), a connection reset, a request that
// hangs and is then dropped, and a long watch stream cut mid-way (load
// balancers and API server restarts do that). A reset or a hang on a mutating
// request comes in two flavours, chosen at random: before forwarding (the write
// never reached the server) and after forwarding (the write happened, the
// client never learns it did). The second is what tests of "nothing is done
// twice" need.
//
// Usage:
//
//	p, err := faultproxy.Start(ctx, upstream, faultproxy.Options{Rate: 0.2, Seed: 1})
//	...
//	defer p.Close()
//	err = p.Kubeconfig(path) // for a binary under test; p.Config() for in-process clients
//
// The proxy serves HTTPS on 127.0.0.1 with its own certificate, HTTP/1.1 only:
// a connection reset and a hang need to take over the client's TCP connection,
// which HTTP/2 multiplexing does not allow. client-go falls back to HTTP/1.1 by
// itself. Upgraded connections (exec, port-forward) are not what it is for and
// are untested.
//
// Clients retry some failures on their own: Go's HTTP transport repeats an
// idempotent request once when a reused connection fails before any answer,
// and client-go repeats 429s and some 5xx. So Stats counts what the proxy saw,
// which can exceed what the client made.
package faultproxy

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httputil"
	"strconv"
	"strings"
	"sync"
	"time"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// Fault is a kind of injected failure.
type Fault string

// The fault kinds. All but FaultCut happen at the start of a request, instead
// of (or, for writes, after) forwarding it; FaultCut cuts an established watch.
const (
	// FaultTooManyRequests answers 429 with Retry-After: 1, as API priority
	// and fairness does when a flow is over its share.
	FaultTooManyRequests Fault = "429"
	// FaultInternalError answers 500.
	FaultInternalError Fault = "500"
	// FaultUnavailable answers 503, as an API server that is starting or
	// stopping does.
	FaultUnavailable Fault = "503"
	// FaultReset resets the TCP connection without an answer.
	FaultReset Fault = "reset"
	// FaultTimeout holds the request for Options.Hold, then closes the
	// connection without an answer.
	FaultTimeout Fault = "timeout"
	// FaultCut cuts a watch stream after a random time between Options.CutMin
	// and Options.CutMax, to exercise watch re-establishment.
	FaultCut Fault = "cut"
)

// AllFaults lists every fault kind; it is the default for Options.Faults.
func AllFaults() []Fault {
	return []Fault{FaultTooManyRequests, FaultInternalError, FaultUnavailable, FaultReset, FaultTimeout, FaultCut}
}

// Options say which requests fail and how.
type Options struct {
	// Rate is the fraction of requests that fail (0.2 = 20%), in [0, 1]. A
	// watch that does not fail at its start is, with the same Rate, cut later
	// when FaultCut is among Faults.
	Rate float64
	// WriteRate, when not 0, is the fraction of mutating requests (POST, PUT,
	// PATCH, DELETE) that fail instead of Rate: writes are where "nothing done
	// twice" is at stake, and they are few.
	WriteRate float64
	// Seed makes the fault sequence reproducible: the n-th request that is not
	// spared gets the same fate in every run with the same Seed and Options.
	// Which request is the n-th is up to the client when it sends several at
	// once.
	Seed int64
	// Faults to choose from, uniformly (FaultCut aside, which only applies to
	// watches that were not failed at their start). Empty means AllFaults.
	Faults []Fault
	// Hold is how long FaultTimeout holds a request before dropping it;
	// default 3s, longer than a test should wait, shorter than a real
	// client's request timeout.
	Hold time.Duration
	// CutMin and CutMax bound the time after which a watch is cut; default
	// 1s and 10s. CutMax must not be less than CutMin.
	CutMin, CutMax time.Duration
	// Spare, when it returns true for a request, never faults it, e.g. the
	// test's own client, told apart by its User-Agent. Spared requests do not
	// use up the seeded sequence. Called from many goroutines at once.
	Spare func(*http.Request) bool
	// Logf, when set, is told each fault as it is injected (t.Logf fits).
	Logf func(format string, args ...any)
}

// Stats counts what the proxy saw.
type Stats struct {
	// Requests is every request received, spared ones included.
	Requests int
	// Spared is the requests Options.Spare spared.
	Spared int
	// Watches is the requests that were watches, spared ones included.
	Watches int
	// Faults counts injected faults by kind. FaultCut counts streams
	// actually cut (a watch that ended first is not counted).
	Faults map[Fault]int
	// AfterForward is how many of the reset and timeout faults were
	// injected after the upstream had answered the request.
	AfterForward int
}

// Proxy is a running fault-injecting proxy. Its methods are safe for
// concurrent use.
type Proxy struct {
	opts   Options
	start  []Fault // faults that replace the answer, drawn uniformly
	cut    bool    // FaultCut is enabled
	url    string
	caPEM  []byte
	srv    *http.Server
	rp     *httputil.ReverseProxy
	ctx    context.Context
	cancel context.CancelFunc

	mu     sync.Mutex // guards rng, stats, closed
	rng    *rand.Rand
	stats  Stats
	closed bool

	// wg counts the serve loop, handlers, and cut timers, so Close can wait
	// for all of them. Handlers join it only while !closed (under mu), which
	// keeps Add from racing with Wait.
	wg       sync.WaitGroup
	stopOnce sync.Once
	unhook   func() bool // detaches stop from Start's ctx
}

// Start starts a proxy to upstream on a free port of 127.0.0.1. It forwards
// with upstream's transport, so upstream's credentials (client certificate,
// token, exec plugin) are what the API server sees. The proxy stops when ctx
// ends or Close is called.
func Start(ctx context.Context, upstream *rest.Config, opts Options) (*Proxy, error) {
	if err := defaults(&opts); err != nil {
		return nil, err
	}
	target, _, err := rest.DefaultServerUrlFor(upstream)
	if err != nil {
		return nil, fmt.Errorf("faultproxy: upstream address: %w", err)
	}
	rt, err := rest.TransportFor(upstream)
	if err != nil {
		return nil, fmt.Errorf("faultproxy: upstream transport: %w", err)
	}
	cert, caPEM, err := selfSigned()
	if err != nil {
		return nil, fmt.Errorf("faultproxy: %w", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("faultproxy: %w", err)
	}

	p := &Proxy{
		opts:  opts,
		url:   "https://" + ln.Addr().String(),
		caPEM: caPEM,
		rng:   rand.New(rand.NewPCG(uint64(opts.Seed), 0x6661756c7470)), // PCG: same stream on every Go release
		stats: Stats{Faults: map[Fault]int{}},
	}
	for _, f := range opts.Faults {
		if f == FaultCut {
			p.cut = true
		} else {
			p.start = append(p.start, f)
		}
	}
	p.ctx, p.cancel = context.WithCancel(context.Background())
	quiet := log.New(io.Discard, "", 0) // failed handshakes and aborted streams are the point here, not news
	p.rp = &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(target)
			// The upstream's identity is the only one: a client of the
			// proxy has no credentials of its own to pass on.
			pr.Out.Header.Del("Authorization")
		},
		Transport: rt,
		// Flush every write at once, or watch events would sit in a buffer.
		FlushInterval: -1,
		ErrorLog:      quiet,
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			p.logf("faultproxy: %s %s: upstream: %v", r.Method, r.URL.RequestURI(), err)
			w.WriteHeader(http.StatusBadGateway)
		},
	}
	protocols := new(http.Protocols)
	protocols.SetHTTP1(true) // see the package comment: hijacking needs HTTP/1
	p.srv = &http.Server{
		Handler:           http.HandlerFunc(p.serve),
		TLSConfig:         &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12},
		Protocols:         protocols,
		ReadHeaderTimeout: 30 * time.Second,
		ErrorLog:          quiet,
	}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		_ = p.srv.ServeTLS(ln, "", "") // ends with ErrServerClosed when stopped
	}()
	// The proxy lives no longer than ctx; Close still waits.
	p.unhook = context.AfterFunc(ctx, p.stop)
	return p, nil
}

func defaults(o *Options) error {
	if math.IsNaN(o.Rate) || o.Rate < 0 || o.Rate > 1 {
		return fmt.Errorf("faultproxy: rate %v is not in [0, 1]", o.Rate)
	}
	if math.IsNaN(o.WriteRate) || o.WriteRate < 0 || o.WriteRate > 1 {
		return fmt.Errorf("faultproxy: write rate %v is not in [0, 1]", o.WriteRate)
	}
	if len(o.Faults) == 0 {
		o.Faults = AllFaults()
	}
	for _, f := range o.Faults {
		switch f {
		case FaultTooManyRequests, FaultInternalError, FaultUnavailable, FaultReset, FaultTimeout, FaultCut:
		default:
			return fmt.Errorf("faultproxy: unknown fault %q", f)
		}
	}
	if o.Hold < 0 {
		return fmt.Errorf("faultproxy: negative hold %v", o.Hold)
	}
	if o.Hold == 0 {
		o.Hold = 3 * time.Second
	}
	if o.CutMin == 0 && o.CutMax == 0 {
		o.CutMin, o.CutMax = time.Second, 10*time.Second
	}
	if o.CutMin < 0 || o.CutMax < o.CutMin {
		return fmt.Errorf("faultproxy: cut range [%v, %v] is empty", o.CutMin, o.CutMax)
	}
	return nil
}

// Config returns a client configuration that reaches the upstream through the
// proxy. It has no credentials: the proxy adds the upstream's.
func (p *Proxy) Config() *rest.Config {
	return &rest.Config{
		Host:            p.url,
		TLSClientConfig: rest.TLSClientConfig{CAData: append([]byte(nil), p.caPEM...)},
	}
}

// Kubeconfig writes a kubeconfig file for Config to path, for a client in
// another process.
func (p *Proxy) Kubeconfig(path string) error {
	const name = "faultproxy"
	cfg := clientcmdapi.NewConfig()
	cluster := clientcmdapi.NewCluster()
	cluster.Server = p.url
	cluster.CertificateAuthorityData = p.caPEM
	cfg.Clusters[name] = cluster
	cfg.AuthInfos[name] = clientcmdapi.NewAuthInfo()
	kctx := clientcmdapi.NewContext()
	kctx.Cluster, kctx.AuthInfo = name, name
	cfg.Contexts[name] = kctx
	cfg.CurrentContext = name
	if err := clientcmd.WriteToFile(*cfg, path); err != nil {
		return fmt.Errorf("faultproxy: %w", err)
	}
	return nil
}

// Stats returns a copy of the counts so far.
func (p *Proxy) Stats() Stats {
	p.mu.Lock()
	defer p.mu.Unlock()
	s := p.stats
	s.Faults = make(map[Fault]int, len(p.stats.Faults))
	for k, v := range p.stats.Faults {
		s.Faults[k] = v
	}
	return s
}

// Close stops the proxy: it closes the listener and every connection, ends held
// requests and streams, and waits for all of the proxy's goroutines. Calling it
// more than once is fine.
func (p *Proxy) Close() {
	p.unhook()
	p.stop()
	p.wg.Wait()
}

func (p *Proxy) stop() {
	p.stopOnce.Do(func() {
		p.mu.Lock()
		p.closed = true
		p.mu.Unlock()
		p.cancel()
		_ = p.srv.Close()
	})
}

func (p *Proxy) logf(format string, args ...any) {
	if p.opts.Logf != nil {
		p.opts.Logf(format, args...)
	}
}

// fate is what happens to one request.
type fate struct {
	fault        Fault         // "" forwards the request
	afterForward bool          // forward first, then reset or time out
	cutAfter     time.Duration // > 0 cuts the forwarded watch after this long
}

// decide draws the fate of a request that is not spared. It always makes the
// same number of draws, so the n-th request's fate depends only on Seed and n,
// not on what kinds of request came before it.
func (p *Proxy) decide(watch, mutating bool) fate {
	// Callers hold p.mu.
	rate := p.opts.Rate
	if mutating && p.opts.WriteRate > 0 {
		rate = p.opts.WriteRate
	}
	fails := p.rng.Float64() < rate
	pick := p.rng.Float64()
	after := p.rng.IntN(2) == 1
	cuts := p.rng.Float64() < p.opts.Rate
	cutAt := p.rng.Float64()

	var f fate
	switch {
	case fails && len(p.start) > 0:
		f.fault = p.start[int(pick*float64(len(p.start)))]
		// Only a write can have been done without the client knowing; a
		// 429 or 5xx says plainly that it was not done.
		f.afterForward = after && mutating && (f.fault == FaultReset || f.fault == FaultTimeout)
	case watch && p.cut && cuts:
		// At least 1ms, because a zero cutAfter means "no cut".
		f.cutAfter = max(p.opts.CutMin+time.Duration(cutAt*float64(p.opts.CutMax-p.opts.CutMin)), time.Millisecond)
	}
	return f
}

func (p *Proxy) serve(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		panic(http.ErrAbortHandler) // stopping: drop the connection
	}
	p.wg.Add(1)
	defer p.wg.Done()
	watch, mutating := isWatch(r), isMutating(r.Method)
	p.stats.Requests++
	if watch {
		p.stats.Watches++
	}
	p.mu.Unlock()

	spared := p.opts.Spare != nil && p.opts.Spare(r)
	var f fate
	p.mu.Lock()
	if spared {
		p.stats.Spared++
	} else {
		f = p.decide(watch, mutating)
		if f.fault != "" {
			p.stats.Faults[f.fault]++
			if f.afterForward {
				p.stats.AfterForward++
			}
		}
	}
	p.mu.Unlock()

	// The upstream request ends when the client goes, when the proxy stops,
	// or when a cut says so.
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	stopAfter := context.AfterFunc(p.ctx, cancel)
	defer stopAfter()
	r = r.WithContext(ctx)

	switch f.fault {
	case "":
		if f.cutAfter > 0 {
			done := make(chan struct{})
			defer close(done)
			p.wg.Add(1)
			go p.cutLater(r, f.cutAfter, cancel, done)
		}
		// A cut cancels the upstream body read mid-stream; ReverseProxy
		// then aborts the handler, which drops the client's connection
		// with the chunked stream unfinished: the client reads an
		// unexpected EOF, as from a load balancer dropping the stream.
		p.rp.ServeHTTP(w, r)
	case FaultTooManyRequests, FaultInternalError, FaultUnavailable:
		p.logf("faultproxy: %s %s: %s", r.Method, r.URL.RequestURI(), f.fault)
		writeStatus(w, f.fault)
	case FaultReset, FaultTimeout:
		when := "before forwarding"
		if f.afterForward {
			when = "after forwarding, upstream answered " + strconv.Itoa(p.forwardAndDiscard(r))
		}
		p.logf("faultproxy: %s %s: %s %s", r.Method, r.URL.RequestURI(), f.fault, when)
		p.drop(w, f.fault)
	}
}

func (p *Proxy) cutLater(r *http.Request, after time.Duration, cancel context.CancelFunc, done <-chan struct{}) {
	defer p.wg.Done()
	t := time.NewTimer(after)
	defer t.Stop()
	select {
	case <-t.C:
		p.mu.Lock()
		p.stats.Faults[FaultCut]++
		p.mu.Unlock()
		p.logf("faultproxy: %s %s: cut after %v", r.Method, r.URL.RequestURI(), after)
		cancel()
	case <-done:
	}
}

// forwardAndDiscard sends r upstream and reads the whole answer, so the
// upstream has done whatever r asked before the client is failed. It returns
// the upstream's status (502 when it could not be reached).
func (p *Proxy) forwardAndDiscard(r *http.Request) (status int) {
	dw := &discardWriter{header: http.Header{}}
	defer func() {
		// ReverseProxy aborts when the upstream body breaks off; the
		// client is about to fail anyway.
		if v := recover(); v != nil {
			if err, ok := v.(error); !ok || !errors.Is(err, http.ErrAbortHandler) {
				panic(v)
			}
		}
		status = dw.status
	}()
	p.rp.ServeHTTP(dw, r)
	return dw.status
}

// drop ends a request without an answer: at once with a TCP reset, or after
// Hold with a plain close.
func (p *Proxy) drop(w http.ResponseWriter, f Fault) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		panic(http.ErrAbortHandler) // cannot happen on HTTP/1; closes the connection anyway
	}
	// Close the TCP connection under TLS directly: closing the TLS
	// connection would first send close_notify, which is an orderly answer.
	raw := conn
	if tc, ok := conn.(*tls.Conn); ok {
		raw = tc.NetConn()
	}
	if f == FaultReset {
		if tcp, ok := raw.(*net.TCPConn); ok {
			_ = tcp.SetLinger(0) // close sends RST, not FIN
		}
		_ = raw.Close()
		return
	}
	t := time.NewTimer(p.opts.Hold)
	defer t.Stop()
	select {
	case <-t.C:
	case <-p.ctx.Done():
	}
	_ = raw.Close()
}

// writeStatus answers with a Kubernetes Status, as the API server would, so
// client-go reports the reason rather than an unknown error.
func writeStatus(w http.ResponseWriter, f Fault) {
	code, reason := http.StatusInternalServerError, "InternalError"
	switch f {
	case FaultTooManyRequests:
		code, reason = http.StatusTooManyRequests, "TooManyRequests"
		w.Header().Set("Retry-After", "1")
	case FaultUnavailable:
		code, reason = http.StatusServiceUnavailable, "ServiceUnavailable"
	}
	status := map[string]any{
		"kind":       "Status",
		"apiVersion": "v1",
		"metadata":   map[string]any{},
		"status":     "Failure",
		"message":    "faultproxy: injected " + string(f),
		"reason":     reason,
		"code":       code,
	}
	if f == FaultTooManyRequests {
		status["details"] = map[string]any{"retryAfterSeconds": 1}
	}
	body, _ := json.Marshal(status) // cannot fail: plain maps and strings
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(code)
	_, _ = w.Write(body)
}

// isWatch tells a watch the way the API server does: ?watch=true (or 1, ...),
// or the legacy /watch/ path prefix.
func isWatch(r *http.Request) bool {
	if ok, err := strconv.ParseBool(r.URL.Query().Get("watch")); err == nil && ok {
		return true
	}
	return strings.Contains(r.URL.Path, "/watch/")
}

func isMutating(method string) bool {
	switch method {
	case http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete:
		return true
	}
	return false
}

// discardWriter takes the upstream's answer to a request whose client is to
// be failed.
type discardWriter struct {
	header http.Header
	status int
}

func (d *discardWriter) Header() http.Header { return d.header }

func (d *discardWriter) WriteHeader(code int) {
	if d.status == 0 {
		d.status = code
	}
}

func (d *discardWriter) Write(b []byte) (int, error) {
	d.WriteHeader(http.StatusOK)
	return len(b), nil
}

// Flush lets ReverseProxy flush (FlushInterval -1) without an error.
func (d *discardWriter) Flush() {}

var _ http.Flusher = (*discardWriter)(nil)
