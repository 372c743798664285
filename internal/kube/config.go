// Package kube loads client configuration the way kubectl does: --kubeconfig,
// else the KUBECONFIG path list (merged), else ~/.kube/config; --context; the
// context's namespace; client-go's auth plugins (exec and OIDC) linked in.
package kube

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/capi-planner/capi-planner/internal/safefile"

	// Auth providers for real clusters: OIDC (exec plugins are built into client-go).
	_ "k8s.io/client-go/plugin/pkg/client/auth/oidc"
)

// Flags are the kubectl-style connection flags.
type Flags struct {
	Kubeconfig     string
	Context        string
	RequestTimeout time.Duration
	// MaxFileSize bounds each kubeconfig file read; LimitFlag is the flag that raises it.
	MaxFileSize int64
	LimitFlag   string
	// RetryReads retries reads that fail for a passing reason (see RetryReads).
	RetryReads bool
}

// Config is a loaded client configuration.
type Config struct {
	REST *rest.Config
	// Namespace is the context's namespace ("default" when it sets none).
	Namespace string
}

// Available reports whether a kubeconfig can be found without flags: KUBECONFIG
// or ~/.kube/config.
func Available() bool {
	if os.Getenv(clientcmd.RecommendedConfigPathEnvVar) != "" {
		return true
	}
	_, err := os.Stat(clientcmd.RecommendedHomeFile)
	return err == nil
}

// Load resolves the flags into a client configuration.
func (f Flags) Load() (*Config, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	rules.ExplicitPath = f.Kubeconfig
	// client-go reads the files itself, whole: refuse FIFOs, devices and huge files first.
	for _, p := range append([]string{rules.ExplicitPath}, rules.Precedence...) {
		if p == "" {
			continue
		}
		if err := safefile.Check(p, f.MaxFileSize); err != nil {
			return nil, fmt.Errorf("kubeconfig: %w (a kubeconfig is a regular file; --kubeconfig and KUBECONFIG name it; a larger one is read with %s)", err, f.LimitFlag)
		}
	}
	overrides := &clientcmd.ConfigOverrides{CurrentContext: f.Context}
	cc := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, overrides)
	cfg, err := cc.ClientConfig()
	if err != nil {
		return nil, explain(f, err)
	}
	ns, _, err := cc.Namespace()
	if err != nil {
		return nil, explain(f, err)
	}
	cfg.Timeout = f.RequestTimeout
	// A run makes a few dozen list calls; do not let client-side throttling pace them.
	cfg.QPS, cfg.Burst = 50, 100
	cfg.UserAgent = "capi-planner"
	if f.RetryReads {
		RetryReads(cfg)
	}
	return &Config{REST: cfg, Namespace: ns}, nil
}

func explain(f Flags, err error) error {
	source := "the kubeconfig"
	if f.Kubeconfig != "" {
		source = "--kubeconfig " + f.Kubeconfig
	}
	msg := strings.Join(strings.Fields(err.Error()), " ")
	switch {
	case clientcmd.IsEmptyConfig(err):
		return errors.New("no kubeconfig found: pass --kubeconfig, set KUBECONFIG, or plan a snapshot with -f")
	case f.Context != "" && (strings.Contains(msg, "context was not found") || strings.Contains(msg, "does not exist")):
		return fmt.Errorf("context %q is not in %s: check --context (kubectl config get-contexts lists them)", f.Context, source)
	}
	return fmt.Errorf("cannot load %s: %s", source, msg)
}
