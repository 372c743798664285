package kube

import (
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"k8s.io/client-go/rest"
)

func TestRetryReads(t *testing.T) {
	var gets, patches atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.Method {
		case http.MethodGet:
			if gets.Add(1) < 3 {
				w.WriteHeader(http.StatusServiceUnavailable)
				return
			}
		case http.MethodPatch:
			patches.Add(1)
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		w.WriteHeader(http.StatusOK)
	}))
	defer srv.Close()
	cfg := &rest.Config{Host: srv.URL}
	RetryReads(cfg)
	c, err := rest.HTTPClientFor(cfg)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := c.Get(srv.URL + "/api")
	if err != nil || resp.StatusCode != http.StatusOK || gets.Load() != 3 {
		t.Errorf("a read failing twice with 503: %v %v after %d tries", resp, err, gets.Load())
	}
	req, _ := http.NewRequest(http.MethodPatch, srv.URL+"/api", nil)
	resp, err = c.Do(req)
	if err != nil || resp.StatusCode != http.StatusInternalServerError || patches.Load() != 1 {
		t.Errorf("a write is retried: %v %v, %d tries", resp, err, patches.Load())
	}
}
