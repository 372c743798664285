// Package runtimeext calls Cluster API runtime extensions the way CAPI's runtime
// client does (internal/runtime/client, which cannot be imported): the handler
// registered in an ExtensionConfig, at its clientConfig.url with its caBundle or
// through the API server's service proxy for clientConfig.service, with its
// timeout, settings and failure policy. It implements CAPI's exported
// runtimeclient.Client interface so that CAPI's own plan functions
// (desiredstate.GetUpgradePlanFromExtension) can call extensions through it.
package runtimeext

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"time"

	"k8s.io/client-go/rest"
	ctrlclient "sigs.k8s.io/controller-runtime/pkg/client"

	runtimecatalog "sigs.k8s.io/cluster-api/api/runtime/catalog"
	runtimehooksv1 "sigs.k8s.io/cluster-api/api/runtime/hooks/v1alpha1"
	runtimev1 "sigs.k8s.io/cluster-api/api/runtime/v1beta2"
	runtimeclient "sigs.k8s.io/cluster-api/exp/runtime/client"
	"sigs.k8s.io/cluster-api/feature"

	"github.com/capi-planner/capi-planner/internal/extregistry"
	"github.com/capi-planner/capi-planner/state"
)

// Client calls the extensions registered in a management cluster's ExtensionConfigs.
type Client struct {
	st      *state.State
	catalog *runtimecatalog.Catalog
	// apiServer reaches clientConfig.service extensions through the service proxy; nil offline.
	apiServer *rest.Config
	// Calls counts the HTTP calls made, per registered handler name.
	Calls map[string]int
}

var _ runtimeclient.Client = &Client{}

// New returns a Client for the ExtensionConfigs in st. It enables CAPI's RuntimeSDK
// feature gate in this process: CAPI's plan code refuses to call extensions without
// it (the gate of the running controllers is read separately).
func New(st *state.State, apiServer *rest.Config) (*Client, error) {
	if err := feature.MutableGates.Set(string(feature.RuntimeSDK) + "=true"); err != nil {
		return nil, err
	}
	cat := runtimecatalog.New()
	if err := runtimehooksv1.AddToCatalog(cat); err != nil {
		return nil, err
	}
	return &Client{st: st, catalog: cat, apiServer: apiServer, Calls: map[string]int{}}, nil
}

// CallExtension calls the named handler, as CAPI's runtime client does.
func (c *Client) CallExtension(ctx context.Context, hook runtimecatalog.Hook, forObject ctrlclient.Object, name string, request runtimehooksv1.RequestObject, response runtimehooksv1.ResponseObject, _ ...runtimeclient.CallExtensionOption) error {
	gvh, err := c.catalog.GroupVersionHook(hook)
	if err != nil {
		return err
	}
	handler, err := extregistry.Lookup(c.st, name, forObject.GetNamespace())
	if err != nil {
		return err
	}
	ec, h := handler.Config, handler.Status
	where := fmt.Sprintf("extension handler %q (ExtensionConfig %s)", name, ec.Name)
	if h.RequestHook.Hook != gvh.Hook {
		return fmt.Errorf("%s handles %s, not %s", where, h.RequestHook.Hook, gvh.Hook)
	}
	request = withSettings(request, ec.Spec.Settings)
	reqGVK, err := c.catalog.Request(gvh)
	if err != nil {
		return err
	}
	request.GetObjectKind().SetGroupVersionKind(reqGVK)
	timeout := time.Duration(runtimehooksv1.DefaultHandlersTimeoutSeconds) * time.Second
	if h.TimeoutSeconds != 0 {
		timeout = time.Duration(h.TimeoutSeconds) * time.Second
	}
	c.Calls[name]++
	if err := c.post(ctx, ec.Spec.ClientConfig, runtimecatalog.GVHToPath(gvh, handler.PathName()), timeout, request, response); err != nil {
		if h.FailurePolicy == runtimev1.FailurePolicyIgnore {
			// As CAPI does: an unreachable extension with failurePolicy Ignore answers "success, nothing".
			response.SetStatus(runtimehooksv1.ResponseStatusSuccess)
			response.SetMessage("")
			return nil
		}
		return fmt.Errorf("%s: %w", where, err)
	}
	if response.GetStatus() == runtimehooksv1.ResponseStatusFailure {
		return fmt.Errorf("%s answered Failure: %s", where, response.GetMessage())
	}
	return nil
}

// withSettings merges the ExtensionConfig's settings under the request's own, on a copy.
func withSettings(request runtimehooksv1.RequestObject, settings map[string]string) runtimehooksv1.RequestObject {
	request = request.DeepCopyObject().(runtimehooksv1.RequestObject)
	merged := map[string]string{}
	for k, v := range settings {
		merged[k] = v
	}
	for k, v := range request.GetSettings() {
		merged[k] = v
	}
	request.SetSettings(merged)
	return request
}

// post sends the request to the extension and decodes the response.
func (c *Client) post(ctx context.Context, cfg runtimev1.ClientConfig, hookPath string, timeout time.Duration, request, response any) error {
	body, err := json.Marshal(request)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	httpClient, target, err := c.endpoint(cfg, hookPath)
	if err != nil {
		return err
	}
	q := target.Query()
	q.Set("timeout", timeout.String())
	target.RawQuery = q.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target.String(), bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := httpClient.Do(req)
	if err != nil {
		return fmt.Errorf("calling %s: %w", target.Redacted(), unwrapURL(err))
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 10<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("calling %s: HTTP %d: %s", target.Redacted(), resp.StatusCode, bytes.TrimSpace(data[:min(len(data), 200)]))
	}
	if err := json.Unmarshal(data, response); err != nil {
		return fmt.Errorf("decoding the answer of %s: %w", target.Redacted(), err)
	}
	return nil
}

func unwrapURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// endpoint returns the HTTP client and URL for a clientConfig: the URL itself with
// the caBundle as the only trusted CA, or the service through the API server's
// service proxy (authenticated as the user running capi-planner).
func (c *Client) endpoint(cfg runtimev1.ClientConfig, hookPath string) (*http.Client, *url.URL, error) {
	if cfg.Service.IsDefined() {
		if c.apiServer == nil {
			return nil, nil, errors.New("clientConfig.service can only be reached through a live management cluster")
		}
		hc, err := rest.HTTPClientFor(c.apiServer)
		if err != nil {
			return nil, nil, err
		}
		base, err := url.Parse(c.apiServer.Host)
		if err != nil {
			return nil, nil, err
		}
		port := "443"
		if cfg.Service.Port != nil {
			port = strconv.Itoa(int(*cfg.Service.Port))
		}
		base.Path = path.Join(base.Path, "api/v1/namespaces", cfg.Service.Namespace, "services", "https:"+cfg.Service.Name+":"+port, "proxy", cfg.Service.Path, hookPath)
		return hc, base, nil
	}
	if cfg.URL == "" {
		return nil, nil, errors.New("clientConfig has neither url nor service")
	}
	u, err := url.Parse(cfg.URL)
	if err != nil {
		return nil, nil, fmt.Errorf("clientConfig.url: %w", err)
	}
	if u.Scheme != "https" {
		return nil, nil, fmt.Errorf("clientConfig.url %s: expected the https scheme", u.Redacted())
	}
	pool := x509.NewCertPool()
	if len(cfg.CABundle) > 0 && !pool.AppendCertsFromPEM(cfg.CABundle) {
		return nil, nil, errors.New("clientConfig.caBundle holds no PEM certificate")
	}
	tlsConfig := &tls.Config{MinVersion: tls.VersionTLS12}
	if len(cfg.CABundle) > 0 {
		tlsConfig.RootCAs = pool
	}
	u.Path = path.Join(u.Path, hookPath)
	return &http.Client{Transport: &http.Transport{TLSClientConfig: tlsConfig, Proxy: http.ProxyFromEnvironment}}, u, nil
}

var errNotSupported = errors.New("capi-planner only calls extensions; it does not register or discover them")

// WarmUp is not supported.
func (c *Client) WarmUp(*runtimev1.ExtensionConfigList) error { return errNotSupported }

// IsReady reports that the client can call extensions.
func (c *Client) IsReady() bool { return true }

// Discover is not supported.
func (c *Client) Discover(context.Context, *runtimev1.ExtensionConfig) (*runtimev1.ExtensionConfig, error) {
	return nil, errNotSupported
}

// Register is not supported.
func (c *Client) Register(*runtimev1.ExtensionConfig) error { return errNotSupported }

// Unregister is not supported.
func (c *Client) Unregister(*runtimev1.ExtensionConfig) error { return errNotSupported }

// GetAllExtensions is not supported.
func (c *Client) GetAllExtensions(context.Context, runtimecatalog.Hook, ctrlclient.Object) ([]string, error) {
	return nil, errNotSupported
}

// CallAllExtensions is not supported.
func (c *Client) CallAllExtensions(context.Context, runtimecatalog.Hook, ctrlclient.Object, runtimehooksv1.RequestObject, runtimehooksv1.ResponseObject) error {
	return errNotSupported
}
