package integration

import (
	"context"
	"fmt"
	"net/http"
	"sync/atomic"
	"testing"

	"k8s.io/client-go/rest"

	"github.com/capi-planner/capi-planner/internal/fleet"
	"github.com/capi-planner/capi-planner/state"
	"github.com/capi-planner/capi-planner/state/live"
)

type countingTransport struct {
	next  http.RoundTripper
	count *atomic.Int64
}

func (c countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c.count.Add(1)
	return c.next.RoundTrip(r)
}

// countedRead reads a namespace live and returns the number of HTTP requests made.
func countedRead(t *testing.T, namespace string) (int64, *state.State) {
	t.Helper()
	var n atomic.Int64
	c := rest.CopyConfig(cfg)
	c.WrapTransport = func(rt http.RoundTripper) http.RoundTripper { return countingTransport{next: rt, count: &n} }
	res, err := live.Read(context.Background(), c, live.Options{Namespace: namespace})
	if err != nil {
		t.Fatal(err)
	}
	return n.Load(), res.State
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
	small, smallState := countedRead(t, "fleet-small")
	large, largeState := countedRead(t, "fleet-large")
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
	// Small pages give the same objects.
	paged, err := live.Read(context.Background(), cfg, live.Options{Namespace: "fleet-large", PageSize: 7})
	if err != nil {
		t.Fatal(err)
	}
	if len(paged.State.Machines) != len(largeState.Machines) || len(paged.State.Clusters) != 25 {
		t.Errorf("paged read: %d machines, %d clusters", len(paged.State.Machines), len(paged.State.Clusters))
	}
}
