package integration

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"

	"k8s.io/client-go/rest"
	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"

	"github.com/capi-planner/capi-planner/internal/fleet"
	"github.com/capi-planner/capi-planner/state"
	"github.com/capi-planner/capi-planner/state/live"
)

// urlRecorder records the URL of every request.
type urlRecorder struct {
	next http.RoundTripper
	mu   *sync.Mutex
	urls *[]*url.URL
}

func (c urlRecorder) RoundTrip(r *http.Request) (*http.Response, error) {
	c.mu.Lock()
	*c.urls = append(*c.urls, r.URL)
	c.mu.Unlock()
	return c.next.RoundTrip(r)
}

// recordedRead reads a namespace live, pageSize objects a page (0: the
// default), and returns the URLs of the HTTP requests it made.
func recordedRead(t *testing.T, namespace string, pageSize int64) ([]*url.URL, *state.State) {
	t.Helper()
	var (
		mu   sync.Mutex
		urls []*url.URL
	)
	c := rest.CopyConfig(cfg)
	c.WrapTransport = func(rt http.RoundTripper) http.RoundTripper { return urlRecorder{next: rt, mu: &mu, urls: &urls} }
	res, err := live.Read(context.Background(), c, live.Options{Namespace: namespace, PageSize: pageSize})
	if err != nil {
		t.Fatal(err)
	}
	return urls, res.State
}

func createFleet(t *testing.T, namespace string, clusters int) {
	t.Helper()
	st := &state.State{}
	objs := append(fleet.Objects{fleet.Namespace(namespace, nil)},
		fleet.ClusterClass(fleet.ClassSpec{Namespace: namespace, Name: "class", Versions: []string{"v1.35.2", "v1.36.3"}})...)
	for i := range clusters {
		objs = append(objs, fleet.Cluster(fleet.ClusterSpec{Namespace: namespace, Name: fmt.Sprintf("c%d", i), Class: "class", ControlPlaneVersion: "v1.35.2", Replicas: 3,
			Workers: []fleet.WorkerSpec{{Name: "md-0", Version: "v1.35.2", Replicas: 3}, {Name: "mp-0", Version: "v1.35.2", Replicas: 2, Pool: true}}})...)
	}
	for _, o := range objs {
		if err := st.Add(o); err != nil {
			t.Fatal(err)
		}
	}
	if err := create(context.Background(), st); err != nil {
		t.Fatal(err)
	}
}

// The number of requests a live read makes does not grow with the number of
// Clusters or Machines: each kind is listed once.
func TestRequestsDoNotGrowWithTheFleet(t *testing.T) {
	createFleet(t, "fleet-small", 1)
	createFleet(t, "fleet-large", 25)
	smallURLs, smallState := recordedRead(t, "fleet-small", 0)
	largeURLs, largeState := recordedRead(t, "fleet-large", 0)
	small, large := len(smallURLs), len(largeURLs)
	if len(largeState.Clusters) != 25 || len(largeState.Machines) != 25*6 || len(smallState.Clusters) != 1 {
		t.Fatalf("read %d/%d clusters, %d machines", len(smallState.Clusters), len(largeState.Clusters), len(largeState.Machines))
	}
	t.Logf("requests: %d for 1 Cluster, %d for 25 Clusters and %d Machines", small, large, len(largeState.Machines))
	if small != large {
		t.Errorf("requests grow with the fleet: %d for 1 Cluster, %d for 25", small, large)
	}
	if large > 40 {
		t.Errorf("%d requests for one read; expected one list per kind plus discovery", large)
	}
	// Small pages give the same objects, and each page is requested once,
	// though the next page is requested while one is decoded.
	urls, paged := recordedRead(t, "fleet-large", 7)
	if names(paged.Machines) != names(largeState.Machines) || len(paged.Clusters) != 25 {
		t.Errorf("paged read: %d machines, %d clusters; want the %d machines and 25 clusters of the one-page read", len(paged.Machines), len(paged.Clusters), len(largeState.Machines))
	}
	seen := map[string]bool{}
	machinePages := 0
	for _, u := range urls {
		if u.Query().Get("limit") == "" {
			continue // discovery, not a page
		}
		if seen[u.String()] {
			t.Errorf("requested twice: %s", u)
		}
		seen[u.String()] = true
		if strings.HasSuffix(u.Path, "/namespaces/fleet-large/machines") {
			machinePages++
		}
	}
	if want := (25*6 + 6) / 7; machinePages != want {
		t.Errorf("%d requests for the Machines' pages of 7, want %d", machinePages, want)
	}
}

func names(machines []*clusterv1.Machine) string {
	var out []string
	for _, m := range machines {
		out = append(out, m.Namespace+"/"+m.Name)
	}
	slices.Sort(out)
	return strings.Join(out, ",")
}
