package runtimeext

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"
	runtimehooksv1 "sigs.k8s.io/cluster-api/api/runtime/hooks/v1alpha1"
	runtimev1 "sigs.k8s.io/cluster-api/api/runtime/v1beta2"

	"github.com/capi-planner/capi-planner/state"
)

// extension serves GenerateUpgradePlan over real TLS and records the requests.
func extension(t *testing.T, handler http.HandlerFunc) (url string, caBundle []byte) {
	t.Helper()
	s := httptest.NewTLSServer(handler)
	t.Cleanup(s.Close)
	return s.URL, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: s.Certificate().Raw})
}

func client(t *testing.T, url string, caBundle []byte, policy runtimev1.FailurePolicy, timeout int32) *Client {
	t.Helper()
	ec := &runtimev1.ExtensionConfig{}
	ec.Name = "ext"
	ec.Spec.ClientConfig.URL = url
	ec.Spec.ClientConfig.CABundle = caBundle
	ec.Spec.Settings = map[string]string{"from-config": "a", "both": "config"}
	// As CAPI's discovery writes it: the handler "plan" of ExtensionConfig "ext" is registered as "plan.ext".
	ec.Status.Handlers = []runtimev1.ExtensionHandler{{Name: "plan.ext", TimeoutSeconds: timeout, FailurePolicy: policy,
		RequestHook: runtimev1.GroupVersionHook{APIVersion: runtimehooksv1.GroupVersion.String(), Hook: "GenerateUpgradePlan"}}}
	ec.Status.Conditions = []metav1.Condition{{Type: runtimev1.ExtensionConfigDiscoveredCondition, Status: metav1.ConditionTrue}}
	c, err := New(&state.State{ExtensionConfigs: []*runtimev1.ExtensionConfig{ec}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func call(c *Client, name string) (*runtimehooksv1.GenerateUpgradePlanResponse, error) {
	cluster := &clusterv1.Cluster{}
	cluster.Namespace, cluster.Name = "ns", "c"
	req := &runtimehooksv1.GenerateUpgradePlanRequest{ToKubernetesVersion: "v1.36.3"}
	req.Settings = map[string]string{"both": "request"}
	resp := &runtimehooksv1.GenerateUpgradePlanResponse{}
	return resp, c.CallExtension(context.Background(), runtimehooksv1.GenerateUpgradePlan, cluster, name, req, resp)
}

func TestCallExtension(t *testing.T) {
	var got runtimehooksv1.GenerateUpgradePlanRequest
	var path, timeout string
	url, ca := extension(t, func(w http.ResponseWriter, r *http.Request) {
		path, timeout = r.URL.Path, r.URL.Query().Get("timeout")
		_ = json.NewDecoder(r.Body).Decode(&got)
		_ = json.NewEncoder(w).Encode(runtimehooksv1.GenerateUpgradePlanResponse{
			CommonResponse:       runtimehooksv1.CommonResponse{Status: runtimehooksv1.ResponseStatusSuccess},
			ControlPlaneUpgrades: []runtimehooksv1.UpgradeStep{{Version: "v1.36.3"}},
		})
	})
	c := client(t, url+"/base", ca, runtimev1.FailurePolicyFail, 0)
	resp, err := call(c, "plan.ext")
	if err != nil {
		t.Fatal(err)
	}
	if path != "/base/hooks.runtime.cluster.x-k8s.io/v1alpha1/generateupgradeplan/plan" || timeout != "10s" {
		t.Errorf("called %s with timeout %q", path, timeout)
	}
	if got.Kind != "GenerateUpgradePlanRequest" || got.Settings["from-config"] != "a" || got.Settings["both"] != "request" {
		t.Errorf("request %+v", got)
	}
	if len(resp.ControlPlaneUpgrades) != 1 || c.Calls["plan.ext"] != 1 {
		t.Errorf("response %+v, calls %v", resp, c.Calls)
	}
	if _, err := call(c, "nope.ext"); err == nil || !strings.Contains(err.Error(), `"nope.ext" is not registered`) {
		t.Errorf("unknown handler: %v", err)
	}
	// The short name is not a registered name: CAPI would not find it either.
	if _, err := call(c, "plan"); err == nil || !strings.Contains(err.Error(), `"plan" is not registered`) {
		t.Errorf("short name: %v", err)
	}
	// A paused ExtensionConfig's handlers are not registered.
	c.st.ExtensionConfigs[0].Annotations = map[string]string{clusterv1.PausedAnnotation: ""}
	if _, err := call(c, "plan.ext"); err == nil || !strings.Contains(err.Error(), "it is paused") {
		t.Errorf("paused: %v", err)
	}
}

func TestCallExtensionFailures(t *testing.T) {
	slow, slowCA := extension(t, func(w http.ResponseWriter, r *http.Request) { time.Sleep(1500 * time.Millisecond) })
	failing, failingCA := extension(t, func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewEncoder(w).Encode(runtimehooksv1.GenerateUpgradePlanResponse{CommonResponse: runtimehooksv1.CommonResponse{Status: runtimehooksv1.ResponseStatusFailure, Message: "no"}})
	})
	otherCA := selfSignedPEM(t)

	if _, err := call(client(t, slow, slowCA, runtimev1.FailurePolicyFail, 1), "plan.ext"); err == nil || !strings.Contains(err.Error(), "deadline exceeded") {
		t.Errorf("timeout: %v", err)
	}
	if _, err := call(client(t, failing, failingCA, runtimev1.FailurePolicyFail, 0), "plan.ext"); err == nil || !strings.Contains(err.Error(), `extension handler "plan.ext" (ExtensionConfig ext) answered Failure: no`) {
		t.Errorf("failure answer: %v", err)
	}
	// A certificate the caBundle does not vouch for is refused.
	if _, err := call(client(t, failing, otherCA, runtimev1.FailurePolicyFail, 0), "plan.ext"); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("untrusted certificate: %v", err)
	}
	// With failurePolicy Ignore, an unreachable extension answers success with nothing, as in CAPI.
	resp, err := call(client(t, slow, otherCA, runtimev1.FailurePolicyIgnore, 0), "plan.ext")
	if err != nil || resp.Status != runtimehooksv1.ResponseStatusSuccess || len(resp.ControlPlaneUpgrades) != 0 {
		t.Errorf("ignore policy: %v %+v", err, resp)
	}
	if _, err := call(client(t, "http://example.invalid", nil, runtimev1.FailurePolicyFail, 0), "plan.ext"); err == nil || !strings.Contains(err.Error(), "https") {
		t.Errorf("plain http: %v", err)
	}
}

// selfSignedPEM returns a CA certificate that did not sign the test servers' certificate.
func selfSignedPEM(t *testing.T) []byte {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "other"}, NotBefore: time.Now(), NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}
