package integration

//lint:file-ignore SA1019 the API server's service proxy resolves Endpoints, deprecated or not (service/storage.go ResourceLocation).

import (
	"context"
	"encoding/json"
	"net"
	"net/http/httptest"
	"slices"
	"strconv"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
	ctrlclient "sigs.k8s.io/controller-runtime/pkg/client"

	runtimehooksv1 "sigs.k8s.io/cluster-api/api/runtime/hooks/v1alpha1"
	runtimev1 "sigs.k8s.io/cluster-api/api/runtime/v1beta2"

	"github.com/capi-planner/capi-planner/internal/fleet"
	"github.com/capi-planner/capi-planner/internal/state"
)

// hostIP is an IPv4 address of this host the API server may proxy to (it
// refuses loopback and link-local addresses).
func hostIP(t *testing.T) string {
	t.Helper()
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && n.IP.To4() != nil && !n.IP.IsLoopback() && !n.IP.IsLinkLocalUnicast() {
			return n.IP.String()
		}
	}
	t.Skip("this host has no IPv4 address but loopback: the API server cannot proxy to an extension here")
	return ""
}

// An ExtensionConfig with clientConfig.service is reached through the API
// server's service proxy, as the user running capi-planner: the extension
// listens on this host, a Service without selector points at it.
func TestExtensionThroughServiceProxy(t *testing.T) {
	ip := hostIP(t)
	ext := &planExtension{}
	server := httptest.NewUnstartedServer(ext)
	l, err := net.Listen("tcp", net.JoinHostPort(ip, "0"))
	if err != nil {
		t.Fatal(err)
	}
	server.Listener = l
	server.StartTLS()
	defer server.Close()
	port := int32(l.Addr().(*net.TCPAddr).Port)

	const ns = "ext-svc"
	ctx := context.Background()
	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "upgrade-plans"},
		Spec: corev1.ServiceSpec{Ports: []corev1.ServicePort{{Name: "https", Port: 443, TargetPort: intstr.FromInt32(port)}}}}
	// The service proxy only dials the address of a Pod (storage.go isValidAddress):
	// a Pod stands for the extension, with this host's IP.
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "default"}}
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "upgrade-plans"},
		Spec: corev1.PodSpec{AutomountServiceAccountToken: ptr.To(false), Containers: []corev1.Container{{Name: "extension", Image: "extension"}}}}
	endpoints := &corev1.Endpoints{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "upgrade-plans"},
		Subsets: []corev1.EndpointSubset{{
			Addresses: []corev1.EndpointAddress{{IP: ip, TargetRef: &corev1.ObjectReference{Kind: "Pod", Namespace: ns, Name: "upgrade-plans"}}},
			Ports:     []corev1.EndpointPort{{Name: "https", Port: port}}}}}

	ec := fleet.ExtensionConfig(fleet.ExtensionSpec{Name: "upgrade-plans-svc"})
	ec.Spec.ClientConfig = runtimev1.ClientConfig{Service: runtimev1.ServiceReference{Namespace: ns, Name: "upgrade-plans", Port: ptr.To[int32](443)}}
	ec.Status.Handlers = []runtimev1.ExtensionHandler{{Name: "chain", RequestHook: runtimev1.GroupVersionHook{APIVersion: runtimehooksv1.GroupVersion.String(), Hook: "GenerateUpgradePlan"},
		TimeoutSeconds: 5, FailurePolicy: runtimev1.FailurePolicyFail}}
	objs := fleet.Objects{fleet.Namespace(ns, nil), ec}
	objs = append(objs, fleet.ClusterClass(fleet.ClassSpec{Namespace: ns, Name: "class", Extension: "chain.upgrade-plans-svc"})...)
	objs = append(objs, fleet.Cluster(fleet.ClusterSpec{Namespace: ns, Name: "c", Class: "class", ControlPlaneVersion: "v1.33.4", Replicas: 3,
		Workers: []fleet.WorkerSpec{{Name: "md-0", Version: "v1.33.4", Replicas: 2}}})...)
	st := &state.State{}
	for _, o := range objs {
		if err := st.Add(o); err != nil {
			t.Fatal(err)
		}
	}
	if err := create(ctx, st); err != nil {
		t.Fatal(err)
	}
	for _, o := range []ctrlclient.Object{sa, pod, svc, endpoints} {
		if err := client.Create(ctx, o); err != nil {
			t.Fatal(err)
		}
	}
	pod.Status.PodIP, pod.Status.PodIPs = ip, []corev1.PodIP{{IP: ip}}
	if err := client.Status().Update(ctx, pod); err != nil {
		t.Fatal(err)
	}

	r := capiPlanner(t, "plan", "--kubeconfig", adminKubeconfig, "--cluster", ns+"/c", "--to", "v1.36.3", "-o", "json")
	if r.Code != 0 {
		t.Fatalf("exit %d\n%s", r.Code, r.Stderr)
	}
	var doc struct {
		Clusters []struct {
			Status      string
			UpgradePlan struct{ ControlPlane []string }
		}
	}
	if err := json.Unmarshal([]byte(r.Stdout), &doc); err != nil {
		t.Fatal(err)
	}
	if p := doc.Clusters[0]; p.Status != "Planned" || !slices.Equal(p.UpgradePlan.ControlPlane, []string{"v1.34.3", "v1.35.2", "v1.36.3"}) {
		t.Errorf("plan through the service proxy: %+v", p)
	}
	ext.mu.Lock()
	n := len(ext.requests)
	ext.mu.Unlock()
	if n == 0 {
		t.Error("the extension behind the Service was never called")
	}
	t.Logf("the extension at %s answered %s requests through the service proxy", net.JoinHostPort(ip, strconv.Itoa(int(port))), strconv.Itoa(n))
}
