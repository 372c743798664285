package faultproxy

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

const (
	token     = "test-token"
	cmPath    = "/api/v1/namespaces/default/configmaps"
	watchPath = cmPath + "?watch=true"
	cmJSON    = `{"kind":"ConfigMap","apiVersion":"v1","metadata":{"name":"cm","namespace":"default","resourceVersion":"1"},"data":{"k":"v"}}`
)

// fakeAPI is a tiny API server: one ConfigMap to get, configmaps to create (it
// remembers the bodies), a watch that streams one event every 20ms, a large
// body, a slow response that is not a watch, and a 404. It insists on the bearer token, so a success through the
// proxy shows the proxy added the upstream's credentials.
type fakeAPI struct {
	srv  *httptest.Server
	big  []byte
	gate chan struct{} // a watch with ?gate=1 waits on it after its first event

	mu    sync.Mutex
	gets  int      // requests other than POSTs that reached the handler
	posts []string // bodies of POSTs, in arrival order
}

func newFakeAPI(t *testing.T) *fakeAPI {
	t.Helper()
	u := &fakeAPI{gate: make(chan struct{}), big: make([]byte, 1<<20)}
	r := rand.New(rand.NewPCG(1, 2))
	for i := range u.big {
		u.big[i] = byte(r.Uint32())
	}
	u.srv = httptest.NewUnstartedServer(http.HandlerFunc(u.serve))
	u.srv.StartTLS()
	t.Cleanup(u.srv.Close)
	return u
}

// config is how a client reaches the fake directly: token and CA.
func (u *fakeAPI) config() *rest.Config {
	ca := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: u.srv.Certificate().Raw})
	return &rest.Config{Host: u.srv.URL, BearerToken: token, TLSClientConfig: rest.TLSClientConfig{CAData: ca}}
}

func (u *fakeAPI) seen() (gets int, posts []string) {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.gets, slices.Clone(u.posts)
}

// watchEvent is the i-th line of every watch stream.
func watchEvent(i int) string {
	return fmt.Sprintf(`{"type":"ADDED","object":{"kind":"ConfigMap","apiVersion":"v1","metadata":{"name":"cm-%d","namespace":"default","resourceVersion":"%d"}}}`+"\n", i, i+1)
}

func (u *fakeAPI) serve(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Authorization") != "Bearer "+token {
		http.Error(w, "no token", http.StatusUnauthorized)
		return
	}
	if r.Method == http.MethodPost {
		body, _ := io.ReadAll(r.Body)
		u.mu.Lock()
		u.posts = append(u.posts, string(body))
		u.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		_, _ = w.Write(body)
		return
	}
	u.mu.Lock()
	u.gets++
	u.mu.Unlock()
	switch {
	case r.URL.Path == cmPath && r.URL.Query().Get("watch") == "true", r.URL.Path == "/slow":
		u.watch(w, r)
	case r.URL.Path == cmPath+"/cm":
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, cmJSON)
	case r.URL.Path == "/big":
		w.Header().Set("X-Test", "big")
		_, _ = w.Write(u.big)
	default:
		http.Error(w, "nothing here", http.StatusNotFound)
	}
}

// watch streams ?events=N events (0: until the client goes, at most 10s).
func (u *fakeAPI) watch(w http.ResponseWriter, r *http.Request) {
	n, _ := strconv.Atoi(r.URL.Query().Get("events"))
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(10 * time.Second)
	for i := 0; n == 0 || i < n; i++ {
		if _, err := io.WriteString(w, watchEvent(i)); err != nil {
			return
		}
		w.(http.Flusher).Flush()
		if i == 0 && r.URL.Query().Get("gate") == "1" {
			select {
			case <-u.gate:
			case <-r.Context().Done():
				return
			}
		}
		select {
		case <-tick.C:
		case <-r.Context().Done():
			return
		case <-deadline:
			return
		}
	}
}

func startProxy(t *testing.T, u *fakeAPI, opts Options) *Proxy {
	t.Helper()
	p, err := Start(t.Context(), u.config(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	return p
}

// rawClient opens a new connection per request, so Go's transport never
// repeats a failed request on its own and the test sees every fault.
func rawClient(t *testing.T, p *Proxy) *http.Client {
	t.Helper()
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(p.Config().CAData) {
		t.Fatal("proxy CA data is not a PEM certificate")
	}
	tr := &http.Transport{DisableKeepAlives: true, TLSClientConfig: &tls.Config{RootCAs: pool}}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 20 * time.Second}
}

type result struct {
	status int
	header http.Header
	body   []byte
	err    error
}

func do(c *http.Client, p *Proxy, method, path, body string, header ...string) result {
	req, err := http.NewRequest(method, p.Config().Host+path, strings.NewReader(body))
	if err != nil {
		return result{err: err}
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := c.Do(req)
	if err != nil {
		return result{err: err}
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return result{status: resp.StatusCode, header: resp.Header, body: b, err: err}
}

func TestForwardsUnchangedAtRateZero(t *testing.T) {
	u := newFakeAPI(t)
	p := startProxy(t, u, Options{Rate: 0, CutMin: time.Millisecond, CutMax: time.Millisecond})
	c := rawClient(t, p)

	if r := do(c, p, "GET", cmPath+"/cm", ""); r.err != nil || r.status != 200 || string(r.body) != cmJSON {
		t.Errorf("get: %d %q %v, want 200 %q", r.status, r.body, r.err, cmJSON)
	}
	// A client's own credentials are replaced by the upstream's.
	if r := do(c, p, "GET", cmPath+"/cm", "", "Authorization", "Bearer wrong"); r.err != nil || r.status != 200 {
		t.Errorf("get with a wrong token: %d %v, want 200", r.status, r.err)
	}
	post := strings.Repeat("0123456789abcdef", 4096)
	if r := do(c, p, "POST", cmPath, post); r.err != nil || r.status != 201 || string(r.body) != post {
		t.Errorf("post: %d, %d bytes back, %v; want 201 and the body echoed", r.status, len(r.body), r.err)
	}
	if _, posts := u.seen(); len(posts) != 1 || posts[0] != post {
		t.Errorf("upstream saw %d posts, want exactly the one sent, unchanged", len(posts))
	}
	if r := do(c, p, "GET", "/big", ""); r.err != nil || r.status != 200 || !bytes.Equal(r.body, u.big) || r.header.Get("X-Test") != "big" {
		t.Errorf("big: %d, %d bytes, X-Test %q, %v; want 200, the upstream's %d bytes, X-Test big", r.status, len(r.body), r.header.Get("X-Test"), r.err, len(u.big))
	}
	if r := do(c, p, "GET", "/nothing", ""); r.err != nil || r.status != 404 || string(r.body) != "nothing here\n" {
		t.Errorf("404: %d %q %v; want the upstream's 404", r.status, r.body, r.err)
	}

	// The watch's first event must arrive while the upstream is still
	// holding the stream open: proof that the proxy flushes, not buffers.
	// With cuts enabled at 1ms but Rate 0, the stream must also survive.
	resp, err := c.Get(p.Config().Host + watchPath + "&gate=1&events=5")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	br := bufio.NewReader(resp.Body)
	first := make(chan string, 1)
	go func() {
		line, _ := br.ReadString('\n')
		first <- line
	}()
	select {
	case line := <-first:
		if line != watchEvent(0) {
			t.Fatalf("first watch line %q, want %q", line, watchEvent(0))
		}
	case <-time.After(5 * time.Second):
		t.Fatal("first watch event did not arrive before the upstream ended the stream: the proxy buffers")
	}
	close(u.gate)
	rest, err := io.ReadAll(br)
	if err != nil {
		t.Fatalf("reading the watch: %v", err)
	}
	var want strings.Builder
	for i := 1; i < 5; i++ {
		want.WriteString(watchEvent(i))
	}
	if string(rest) != want.String() {
		t.Errorf("watch stream after the first event:\n%s\nwant:\n%s", rest, want.String())
	}

	s := p.Stats()
	if s.Requests != 6 || s.Watches != 1 || s.Spared != 0 || s.AfterForward != 0 || len(s.Faults) != 0 {
		t.Errorf("stats %+v, want 6 requests, 1 watch, no faults", s)
	}
}

func TestClientGoThroughConfigAndKubeconfig(t *testing.T) {
	u := newFakeAPI(t)
	p := startProxy(t, u, Options{Rate: 0})

	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := p.Kubeconfig(path); err != nil {
		t.Fatal(err)
	}
	fromFile, err := clientcmd.BuildConfigFromFlags("", path)
	if err != nil {
		t.Fatal(err)
	}
	for name, cfg := range map[string]*rest.Config{"Config": p.Config(), "Kubeconfig": fromFile} {
		cs, err := kubernetes.NewForConfig(cfg)
		if err != nil {
			t.Fatal(err)
		}
		cm, err := cs.CoreV1().ConfigMaps("default").Get(t.Context(), "cm", metav1.GetOptions{})
		if err != nil || cm.Data["k"] != "v" {
			t.Errorf("%s: get configmap: %v, %v", name, cm, err)
		}
	}

	cs, err := kubernetes.NewForConfig(p.Config())
	if err != nil {
		t.Fatal(err)
	}
	w, err := cs.CoreV1().ConfigMaps("default").Watch(t.Context(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	for i := range 3 {
		select {
		case ev := <-w.ResultChan():
			if m, ok := ev.Object.(metav1.Object); !ok || m.GetName() != fmt.Sprintf("cm-%d", i) {
				t.Fatalf("watch event %d: %v, want cm-%d", i, ev, i)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("watch event %d did not arrive", i)
		}
	}
}

func TestEachFault(t *testing.T) {
	const hold = 300 * time.Millisecond
	for _, f := range []Fault{FaultTooManyRequests, FaultInternalError, FaultUnavailable, FaultReset, FaultTimeout} {
		t.Run(string(f), func(t *testing.T) {
			u := newFakeAPI(t)
			p := startProxy(t, u, Options{Rate: 1, Faults: []Fault{f}, Hold: hold, Logf: t.Logf})
			c := rawClient(t, p)
			// A plain request and a watch both fail at their start.
			for _, path := range []string{cmPath + "/cm", watchPath} {
				start := time.Now()
				r := do(c, p, "GET", path, "")
				took := time.Since(start)
				switch f {
				case FaultTooManyRequests, FaultInternalError, FaultUnavailable:
					code, _ := strconv.Atoi(string(f))
					if r.err != nil || r.status != code || !strings.Contains(string(r.body), `"message":"faultproxy: injected `+string(f)) {
						t.Errorf("%s: %d %q %v; want %d with a Status", path, r.status, r.body, r.err, code)
					}
					if got, want := r.header.Get("Retry-After"), map[bool]string{true: "1"}[f == FaultTooManyRequests]; got != want {
						t.Errorf("%s: Retry-After %q, want %q", path, got, want)
					}
				case FaultReset:
					if !errors.Is(r.err, syscall.ECONNRESET) {
						t.Errorf("%s: %d, %v; want a connection reset", path, r.status, r.err)
					}
					if took >= hold {
						t.Errorf("%s: reset took %v, want at once", path, took)
					}
				case FaultTimeout:
					if r.err == nil || errors.Is(r.err, syscall.ECONNRESET) {
						t.Errorf("%s: %d, %v; want the connection closed without an answer", path, r.status, r.err)
					}
					if took < hold {
						t.Errorf("%s: failed after %v, want after the hold of %v", path, took, hold)
					}
				}
			}
			if gets, _ := u.seen(); gets != 0 {
				t.Errorf("upstream saw %d requests, want none", gets)
			}
			s := p.Stats()
			if s.Requests != 2 || s.Watches != 1 || s.Faults[f] != 2 || len(s.Faults) != 1 || s.AfterForward != 0 {
				t.Errorf("stats %+v, want 2 requests, 1 watch, 2 %s faults, none after forwarding", s, f)
			}
		})
	}
}

func TestWritesFailedAfterForwarding(t *testing.T) {
	for _, f := range []Fault{FaultReset, FaultTimeout} {
		t.Run(string(f), func(t *testing.T) {
			u := newFakeAPI(t)
			p := startProxy(t, u, Options{Rate: 1, Seed: 1, Faults: []Fault{f}, Hold: 50 * time.Millisecond, Logf: t.Logf})
			c := rawClient(t, p)
			const n = 12
			var sent []string
			for i := range n {
				body := fmt.Sprintf(`{"write":%d}`, i)
				sent = append(sent, body)
				if r := do(c, p, "POST", cmPath, body); r.err == nil {
					t.Errorf("write %d: got %d %q, want an error", i, r.status, r.body)
				}
			}
			_, posts := u.seen()
			after := p.Stats().AfterForward
			// Both flavours must occur, and exactly the writes failed
			// after forwarding must have reached the upstream.
			if after == 0 || after == n {
				t.Errorf("%d of %d writes failed after forwarding, want some but not all", after, n)
			}
			if len(posts) != after {
				t.Errorf("upstream saw %d writes, stats say %d were failed after forwarding", len(posts), after)
			}
			for _, b := range posts {
				if !slices.Contains(sent, b) {
					t.Errorf("upstream saw %q, which was not sent", b)
				}
			}
		})
	}
}

func TestStatsCountWhatClientsSee(t *testing.T) {
	u := newFakeAPI(t)
	faults := []Fault{FaultTooManyRequests, FaultInternalError, FaultUnavailable, FaultReset}
	p := startProxy(t, u, Options{
		Rate:   0.5,
		Seed:   3,
		Faults: faults,
		Spare:  func(r *http.Request) bool { return r.Header.Get("X-Spare") == "1" },
	})
	c := rawClient(t, p)
	const n = 40
	seen := map[Fault]int{}
	forwarded := 0
	for i := range n {
		path, spare := cmPath+"/cm", i%4 == 0
		if i%5 == 0 {
			path = watchPath + "&events=1"
		}
		r := do(c, p, "GET", path, "", "X-Spare", map[bool]string{true: "1"}[spare])
		switch {
		case r.err != nil:
			if !errors.Is(r.err, syscall.ECONNRESET) {
				t.Fatalf("request %d: %v, want a reset", i, r.err)
			}
			seen[FaultReset]++
		case r.status == 200:
			forwarded++
		case bytes.Contains(r.body, []byte("faultproxy: injected")):
			seen[Fault(strconv.Itoa(r.status))]++
		default:
			t.Fatalf("request %d: unexpected %d %q", i, r.status, r.body)
		}
		if spare && (r.err != nil || r.status != 200) {
			t.Errorf("spared request %d failed: %d %v", i, r.status, r.err)
		}
	}
	s := p.Stats()
	if s.Requests != n || s.Spared != 10 || s.Watches != 8 {
		t.Errorf("stats %+v, want %d requests, 10 spared, 8 watches", s, n)
	}
	total := 0
	for _, f := range faults {
		if s.Faults[f] != seen[f] {
			t.Errorf("stats count %d %s faults, the client saw %d", s.Faults[f], f, seen[f])
		}
		total += seen[f]
	}
	if total == 0 || forwarded <= 10 {
		t.Errorf("%d faults and %d forwarded (10 spared) at rate 0.5: want both kinds of fate", total, forwarded)
	}
	if gets, _ := u.seen(); gets != forwarded {
		t.Errorf("upstream saw %d requests, the client got %d answers from it", gets, forwarded)
	}
}

func TestSeededSequenceIsReproducible(t *testing.T) {
	u := newFakeAPI(t)
	// run returns the status of each of 30 requests; with spares, a spared
	// request goes before each, which must not shift the sequence.
	run := func(seed int64, spares bool) []int {
		p := startProxy(t, u, Options{
			Rate:   0.5,
			Seed:   seed,
			Faults: []Fault{FaultTooManyRequests, FaultInternalError, FaultUnavailable},
			Spare:  func(r *http.Request) bool { return r.Header.Get("X-Spare") == "1" },
		})
		defer p.Close()
		c := rawClient(t, p)
		var got []int
		for range 30 {
			if spares {
				if r := do(c, p, "GET", cmPath+"/cm", "", "X-Spare", "1"); r.status != 200 {
					t.Fatalf("spared request: %d %v", r.status, r.err)
				}
			}
			r := do(c, p, "GET", cmPath+"/cm", "")
			if r.err != nil {
				t.Fatal(r.err)
			}
			got = append(got, r.status)
		}
		return got
	}
	a, b, other := run(7, false), run(7, true), run(8, false)
	if !slices.Equal(a, b) {
		t.Errorf("seed 7 gave\n%v\nthen, with spared requests between,\n%v", a, b)
	}
	if slices.Equal(a, other) {
		t.Errorf("seeds 7 and 8 gave the same sequence %v", a)
	}
	kinds := map[int]bool{}
	for _, s := range a {
		kinds[s] = true
	}
	if len(kinds) != 4 {
		t.Errorf("seed 7 gave statuses %v: want 200 and all three fault codes in 30 requests", a)
	}
}

func TestCutsWatchStreams(t *testing.T) {
	u := newFakeAPI(t)
	const cutMin, cutMax = 200 * time.Millisecond, 300 * time.Millisecond
	p := startProxy(t, u, Options{Rate: 1, Faults: []Fault{FaultCut}, CutMin: cutMin, CutMax: cutMax, Logf: t.Logf})
	c := rawClient(t, p)

	// Cuts concern watches only: this takes longer than cutMax, uncut.
	slow := do(c, p, "GET", "/slow?events=25", "")
	var want strings.Builder
	for i := range 25 {
		want.WriteString(watchEvent(i))
	}
	if slow.err != nil || slow.status != 200 || string(slow.body) != want.String() {
		t.Errorf("slow response that is not a watch: %d, %v, %d bytes; want 200 and all %d bytes", slow.status, slow.err, len(slow.body), want.Len())
	}

	start := time.Now()
	resp, err := c.Get(p.Config().Host + watchPath)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	br := bufio.NewReader(resp.Body)
	events := 0
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			// The watch never ends on its own: any end of the stream is the
			// cut. Whether the client sees it as an unexpected EOF or an EOF
			// depends on where in the chunked stream the cut falls.
			if !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
				t.Errorf("stream ended with %v, want an EOF", err)
			}
			break
		}
		if line != watchEvent(events) {
			t.Fatalf("event %d: %q, want %q", events, line, watchEvent(events))
		}
		events++
	}
	took := time.Since(start)
	if took < cutMin || took > cutMax+2*time.Second {
		t.Errorf("stream cut after %v, want within [%v, %v] plus slack", took, cutMin, cutMax)
	}
	if events == 0 {
		t.Error("no event before the cut: the stream was not established")
	}
	if s := p.Stats(); s.Faults[FaultCut] != 1 || len(s.Faults) != 1 {
		t.Errorf("stats %+v, want 1 cut and nothing else", s)
	}
}

func TestCloseStopsEverything(t *testing.T) {
	u := newFakeAPI(t)
	p, err := Start(t.Context(), u.config(), Options{
		Rate:   1,
		Faults: []Fault{FaultTimeout},
		Hold:   time.Minute,
		Spare:  func(r *http.Request) bool { return r.URL.Query().Get("watch") == "true" },
	})
	if err != nil {
		t.Fatal(err)
	}
	c := rawClient(t, p)
	held := make(chan error, 1)
	go func() { held <- do(c, p, "GET", cmPath+"/cm", "").err }()
	resp, err := c.Get(p.Config().Host + watchPath) // spared: streams until stopped
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	streamed := make(chan error, 1)
	go func() {
		_, err := io.Copy(io.Discard, resp.Body)
		streamed <- err
	}()
	for p.Stats().Requests < 2 {
		time.Sleep(10 * time.Millisecond)
	}

	start := time.Now()
	p.Close()
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("Close took %v with a request held for a minute", took)
	}
	for name, ch := range map[string]<-chan error{"held request": held, "watch": streamed} {
		select {
		case err := <-ch:
			if err == nil {
				t.Errorf("%s ended cleanly, want an error", name)
			}
		case <-time.After(5 * time.Second):
			t.Errorf("%s still running after Close", name)
		}
	}
	if _, err := net.DialTimeout("tcp", strings.TrimPrefix(p.Config().Host, "https://"), time.Second); err == nil {
		t.Error("proxy still accepts connections after Close")
	}
	p.Close() // a second Close is harmless
}

func TestStopsWithContext(t *testing.T) {
	u := newFakeAPI(t)
	ctx, cancel := context.WithCancel(t.Context())
	p, err := Start(ctx, u.config(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	addr := strings.TrimPrefix(p.Config().Host, "https://")
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	conn.Close()
	cancel()
	deadline := time.Now().Add(5 * time.Second)
	for {
		conn, err := net.DialTimeout("tcp", addr, time.Second)
		if err != nil {
			break
		}
		conn.Close()
		if time.Now().After(deadline) {
			t.Fatal("proxy still accepts connections after its context ended")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestStartRejectsBadOptions(t *testing.T) {
	u := newFakeAPI(t)
	for name, o := range map[string]Options{
		"rate above 1":  {Rate: 1.5},
		"negative rate": {Rate: -0.1},
		"NaN rate":      {Rate: math.NaN()},
		"unknown fault": {Faults: []Fault{"418"}},
		"negative hold": {Hold: -time.Second},
		"empty cut":     {CutMin: 2 * time.Second, CutMax: time.Second},
	} {
		if p, err := Start(t.Context(), u.config(), o); err == nil {
			p.Close()
			t.Errorf("%s: started, want an error", name)
		}
	}
}
