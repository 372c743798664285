package capienv

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	ctrlclient "sigs.k8s.io/controller-runtime/pkg/client"

	runtimev1 "sigs.k8s.io/cluster-api/api/runtime/v1beta2"
	"sigs.k8s.io/cluster-api/util/conditions"
)

// ExtensionOptions describe one registration of CAPI's test extension.
type ExtensionOptions struct {
	// Name of the ExtensionConfig; handlers are registered as "<handler>.<Name>".
	Name string
	// Namespaces it serves (its namespaceSelector matches kubernetes.io/metadata.name);
	// empty serves every namespace. CAPI allows one in-place extension per object.
	Namespaces []string
	// RefuseInPlace makes the extension answer CanUpdateMachine and
	// CanUpdateMachineSet without patches (its disableInPlaceUpdates setting).
	RefuseInPlace bool
}

// RegisterTestExtension creates an ExtensionConfig for CAPI's test extension and
// waits until the core controller has discovered it, then returns it as the
// controller wrote it.
func (e *Env) RegisterTestExtension(ctx context.Context, o ExtensionOptions) (*runtimev1.ExtensionConfig, error) {
	// The test extension's lifecycle handlers keep their answers in a ConfigMap
	// named after the ExtensionConfig, which they find through this setting.
	settings := map[string]string{"extensionConfigName": o.Name}
	if o.RefuseInPlace {
		settings["disableInPlaceUpdates"] = "true"
	}
	return e.RegisterExtension(ctx, o.Name, e.extensionURL, settings, o.Namespaces)
}

// RegisterExtension creates an ExtensionConfig for the extension at url (serving
// with the box's certificate, see CertDir) and waits until the core controller
// has discovered it. namespaces limits it to those namespaces; empty serves all.
func (e *Env) RegisterExtension(ctx context.Context, name, url string, settings map[string]string, namespaces []string) (*runtimev1.ExtensionConfig, error) {
	ec := &runtimev1.ExtensionConfig{ObjectMeta: metav1.ObjectMeta{Name: name}}
	ec.Spec.ClientConfig.URL = url
	ec.Spec.ClientConfig.CABundle = e.caBundle
	ec.Spec.Settings = settings
	if len(namespaces) > 0 {
		ec.Spec.NamespaceSelector = &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{
			Key: "kubernetes.io/metadata.name", Operator: metav1.LabelSelectorOpIn, Values: namespaces,
		}}}
	}
	if err := e.Client.Create(ctx, ec); err != nil {
		return nil, fmt.Errorf("creating ExtensionConfig %s: %w", name, err)
	}
	return e.WaitDiscovered(ctx, name)
}

// CertDir holds the box's serving certificate (tls.crt, tls.key) for 127.0.0.1,
// which the API server and the core controller trust.
func (e *Env) CertDir() string { return filepath.Join(e.Dir, "certs") }

// CABundle is the PEM of the certificate in CertDir, for the caBundle of a
// webhook or extension served with it.
func (e *Env) CABundle() []byte { return e.caBundle }

// WaitDiscovered waits until the core controller reports the ExtensionConfig
// Discovered for its current generation.
func (e *Env) WaitDiscovered(ctx context.Context, name string) (*runtimev1.ExtensionConfig, error) {
	ec := &runtimev1.ExtensionConfig{}
	err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, 2*time.Minute, true, func(ctx context.Context) (bool, error) {
		if err := e.Client.Get(ctx, ctrlclient.ObjectKey{Name: name}, ec); err != nil {
			return false, nil
		}
		c := conditions.Get(ec, runtimev1.ExtensionConfigDiscoveredCondition)
		return c != nil && c.Status == metav1.ConditionTrue && c.ObservedGeneration == ec.Generation && len(ec.Status.Handlers) > 0, nil
	})
	if err != nil {
		return nil, fmt.Errorf("ExtensionConfig %s was not discovered (conditions %+v): %w", name, ec.Status.Conditions, err)
	}
	return ec, nil
}
