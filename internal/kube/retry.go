package kube

import (
	"context"
	"errors"
	"net/http"
	"time"

	utilnet "k8s.io/apimachinery/pkg/util/net"
	"k8s.io/client-go/rest"
)

// RetryReads makes the configuration retry a read (GET, HEAD) that failed for
// a passing reason: 429, 500, 502, 503 or 504, or a broken connection. Reads
// change nothing, so another try is always safe; writes are left to their
// callers, which must check what landed first. Watches are not retried here
// (informers reopen them).
func RetryReads(cfg *rest.Config) {
	cfg.Wrap(func(rt http.RoundTripper) http.RoundTripper { return &retryReads{next: rt} })
}

type retryReads struct{ next http.RoundTripper }

// retryDelays space the tries of one read: about 6s in all.
var retryDelays = []time.Duration{100 * time.Millisecond, 300 * time.Millisecond, 600 * time.Millisecond, time.Second, 1500 * time.Millisecond, 2500 * time.Millisecond}

func (r *retryReads) RoundTrip(req *http.Request) (*http.Response, error) {
	if (req.Method != http.MethodGet && req.Method != http.MethodHead) || req.URL.Query().Get("watch") == "true" {
		return r.next.RoundTrip(req)
	}
	for i := 0; ; i++ {
		resp, err := r.next.RoundTrip(req)
		if i == len(retryDelays) || !passing(resp, err) {
			return resp, err
		}
		if resp != nil {
			resp.Body.Close()
		}
		select {
		case <-req.Context().Done():
			return nil, req.Context().Err()
		case <-time.After(retryDelays[i]):
		}
	}
}

func passing(resp *http.Response, err error) bool {
	if err != nil {
		return !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded) &&
			(utilnet.IsConnectionReset(err) || utilnet.IsProbableEOF(err) || utilnet.IsConnectionRefused(err) || isTimeout(err))
	}
	switch resp.StatusCode {
	case http.StatusTooManyRequests, http.StatusInternalServerError, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	}
	return false
}

func isTimeout(err error) bool {
	var t interface{ Timeout() bool }
	return errors.As(err, &t) && t.Timeout()
}
