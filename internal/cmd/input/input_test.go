package input

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/capi-planner/capi-planner/internal/iostreams"
	"github.com/capi-planner/capi-planner/internal/kube"
	"github.com/capi-planner/capi-planner/state/live"
)

// An API server that refuses the kubeconfig's credentials: the live reader
// says so as a typed error, and the command's phrasing names the flag to check.
func TestLoadUnauthorized(t *testing.T) {
	server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = w.Write([]byte(`{"kind":"Status","apiVersion":"v1","status":"Failure","message":"Unauthorized","reason":"Unauthorized","code":401}`))
	}))
	defer server.Close()
	kubeconfig := filepath.Join(t.TempDir(), "kubeconfig")
	data := `apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "` + server.URL + `"}}]
users: [{name: u, user: {token: s3cr3t-token}}]
contexts: [{name: c, context: {cluster: c, user: u, namespace: prod}}]
current-context: c
`
	if err := os.WriteFile(kubeconfig, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	ios, _, _, _ := iostreams.Test()
	_, err := Options{Kube: kube.Flags{Kubeconfig: kubeconfig, MaxFileSize: 1 << 20}}.Load(t.Context(), ios, nil)
	var unauthorized *live.UnauthorizedError
	if !errors.As(err, &unauthorized) || unauthorized.Host != server.URL {
		t.Fatalf("Load = %#v, want a live.UnauthorizedError for %s", err, server.URL)
	}
	if want := "the management cluster at " + server.URL + " rejected the credentials (401 Unauthorized): the kubeconfig's credentials for it are wrong or expired: check --context, or log in again"; err.Error() != want {
		t.Errorf("Load = %q\nwant %q", err, want)
	}
	if strings.Contains(err.Error(), "s3cr3t") {
		t.Error("the error prints the token")
	}
}
