package capienv

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	ctrlclient "sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/capi-planner/capi-planner/internal/scheme"
)

// Options say where the box finds what it runs and keeps what it writes.
type Options struct {
	// Dir holds the box's kubeconfig, certificates and logs; created if missing.
	Dir string
	// Managers is the directory of the CAPI managers (hack/capi-managers.sh).
	Managers string
	// Assets is the directory of kube-apiserver and etcd (hack/envtest.sh).
	Assets string
	// ToolsModule is hack/tools/capi, the module that pins the CAPI modules whose
	// CRDs and webhook configurations the box installs.
	ToolsModule string
	// Log receives progress lines; nil discards them.
	Log func(format string, args ...any)
}

// Env is a running management cluster in a box.
type Env struct {
	// Config reaches the API server as its admin.
	Config *rest.Config
	// Kubeconfig is the path of an admin kubeconfig file.
	Kubeconfig string
	// Client is an admin client with capi-planner's scheme.
	Client ctrlclient.Client
	// Dir is Options.Dir; logs are in Dir/logs.
	Dir string

	caBundle     []byte
	extensionURL string
	api          *envtest.Environment
	procs        []*process
	stopKubelets context.CancelFunc
	kubelets     sync.WaitGroup
	log          func(format string, args ...any)
}

// Start starts the API server, installs the CAPI CRDs and webhook configurations,
// starts the managers and the test extension and waits until all are ready.
// On error everything already started is stopped.
func Start(ctx context.Context, opts Options) (_ *Env, err error) {
	e := &Env{Dir: opts.Dir, log: opts.Log}
	if e.log == nil {
		e.log = func(string, ...any) {}
	}
	defer func() {
		if err != nil {
			_ = e.Stop()
		}
	}()
	mods, err := resolveModules(ctx, opts.ToolsModule)
	if err != nil {
		return nil, err
	}
	certDir := e.CertDir()
	logDir := filepath.Join(opts.Dir, "logs")
	for _, d := range []string{certDir, logDir} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, err
		}
	}
	if e.caBundle, err = servingCert(certDir); err != nil {
		return nil, err
	}

	type ports struct{ webhook, health int }
	all := map[string]ports{}
	for _, name := range append(providerNames(), "test-extension") {
		w, err := FreePort()
		if err != nil {
			return nil, err
		}
		h, err := FreePort()
		if err != nil {
			return nil, err
		}
		all[name] = ports{w, h}
	}
	url := func(name string) string { return "https://127.0.0.1:" + strconv.Itoa(all[name].webhook) }

	var crdList []*apiextensionsv1.CustomResourceDefinition
	for _, p := range providers {
		list, err := crds(mods.config(p, "crd", "bases"), url(p.name), e.caBundle)
		if err != nil {
			return nil, err
		}
		crdList = append(crdList, list...)
	}
	// clusterctl's inventory (Provider objects), as clusterctl installs it.
	clusterctlCRDs, err := crds(filepath.Join(mods.core, "cmd", "clusterctl", "config", "crd", "bases"), "", nil)
	if err != nil {
		return nil, err
	}
	crdList = append(crdList, clusterctlCRDs...)

	e.log("starting kube-apiserver and etcd with %d CRDs", len(crdList))
	e.api = &envtest.Environment{BinaryAssetsDirectory: opts.Assets}
	if e.Config, err = e.api.Start(); err != nil {
		return nil, fmt.Errorf("starting kube-apiserver and etcd: %w", err)
	}
	// The CRDs are created here rather than by envtest, which drops the
	// conversion webhook of every kind its scheme cannot convert (client-go's
	// scheme knows no CAPI kind): every version would then be served as the
	// stored v1beta2 object relabelled, not converted by the providers' code.
	if err := envtest.CreateCRDs(e.Config, crdList); err != nil {
		return nil, fmt.Errorf("creating the CRDs: %w", err)
	}
	if err := envtest.WaitForCRDs(e.Config, crdList, envtest.CRDInstallOptions{MaxTime: time.Minute, PollInterval: 100 * time.Millisecond}); err != nil {
		return nil, fmt.Errorf("waiting for the CRDs: %w", err)
	}
	if e.Client, err = ctrlclient.New(e.Config, ctrlclient.Options{Scheme: scheme.New()}); err != nil {
		return nil, err
	}
	e.Kubeconfig = filepath.Join(opts.Dir, "kubeconfig")
	if err := os.WriteFile(e.Kubeconfig, e.api.KubeConfig, 0o600); err != nil {
		return nil, err
	}
	for _, p := range providers {
		configs, err := webhookConfigurations(mods.config(p, "webhook", "manifests.yaml"), p.namePrefix, url(p.name), e.caBundle)
		if err != nil {
			return nil, err
		}
		for _, o := range configs {
			if err := e.Client.Create(ctx, o); err != nil {
				return nil, fmt.Errorf("creating %s %s: %w", o.GetKind(), o.GetName(), err)
			}
		}
	}

	common := func(name string) []string {
		return []string{
			"--kubeconfig=" + e.Kubeconfig,
			"--webhook-port=" + strconv.Itoa(all[name].webhook),
			"--webhook-cert-dir=" + certDir,
			"--health-addr=127.0.0.1:" + strconv.Itoa(all[name].health),
			"--diagnostics-address=0",
			"--leader-elect=false",
		}
	}
	for _, p := range providers {
		args := append(common(p.name), "--feature-gates="+FeatureGates)
		e.log("starting %s", p.binary)
		proc, err := startProcess(p.binary, filepath.Join(opts.Managers, p.binary), args, p.env, logDir, all[p.name].health)
		if err != nil {
			return nil, err
		}
		e.procs = append(e.procs, proc)
	}
	ext, err := startProcess("test-extension", filepath.Join(opts.Managers, "test-extension"), common("test-extension"), nil, logDir, all["test-extension"].health)
	if err != nil {
		return nil, err
	}
	e.procs = append(e.procs, ext)
	e.extensionURL = url("test-extension")
	for _, p := range e.procs {
		if err := p.waitReady(ctx, 3*time.Minute); err != nil {
			return nil, err
		}
	}
	e.log("managers ready")
	if err := e.createDeployments(ctx); err != nil {
		return nil, err
	}
	kctx, cancel := context.WithCancel(context.Background())
	e.stopKubelets = cancel
	e.kubelets.Add(1)
	go func() {
		defer e.kubelets.Done()
		e.emulateKubelets(kctx)
	}()
	return e, nil
}

// Stop stops the managers, the test extension, the API server and etcd.
func (e *Env) Stop() error {
	if e.stopKubelets != nil {
		e.stopKubelets()
		e.kubelets.Wait()
	}
	var errs []error
	for i := len(e.procs) - 1; i >= 0; i-- {
		errs = append(errs, e.procs[i].stop(10*time.Second))
	}
	e.procs = nil
	if e.api != nil {
		errs = append(errs, e.api.Stop())
		e.api = nil
	}
	return errors.Join(errs...)
}

func providerNames() []string {
	var out []string
	for _, p := range providers {
		out = append(out, p.name)
	}
	return out
}

// resolveModules finds the CAPI modules pinned by the tools module in the module cache.
func resolveModules(ctx context.Context, toolsModule string) (modules, error) {
	cmd := exec.CommandContext(ctx, "go", "list", "-m", "-json", "sigs.k8s.io/cluster-api", "sigs.k8s.io/cluster-api/test")
	cmd.Dir = toolsModule
	out, err := cmd.Output()
	if err != nil {
		return modules{}, fmt.Errorf("locating the CAPI modules pinned in %s: %w", toolsModule, err)
	}
	var m modules
	dec := json.NewDecoder(bytes.NewReader(out))
	for dec.More() {
		var mod struct{ Path, Dir string }
		if err := dec.Decode(&mod); err != nil {
			return modules{}, err
		}
		switch mod.Path {
		case "sigs.k8s.io/cluster-api":
			m.core = mod.Dir
		case "sigs.k8s.io/cluster-api/test":
			m.test = mod.Dir
		}
	}
	if m.core == "" || m.test == "" {
		return modules{}, fmt.Errorf("the CAPI modules pinned in %s are not in the module cache: run `go mod download` there", toolsModule)
	}
	return m, nil
}

// createDeployments creates the managers' Deployments as clusterctl installs
// them (labels, image, args), with 0 replicas since the managers run as
// processes, so the box looks like a real management cluster to what reads it.
func (e *Env) createDeployments(ctx context.Context) error {
	for _, p := range providers {
		ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: p.namespace, Labels: map[string]string{"cluster.x-k8s.io/provider": p.name}}}
		if err := e.Client.Create(ctx, ns); err != nil {
			return err
		}
		labels := map[string]string{"cluster.x-k8s.io/provider": p.name, "control-plane": "controller-manager"}
		d := &appsv1.Deployment{
			ObjectMeta: metav1.ObjectMeta{Namespace: p.namespace, Name: p.deployment, Labels: labels},
			Spec: appsv1.DeploymentSpec{
				Replicas: ptr.To[int32](0),
				Selector: &metav1.LabelSelector{MatchLabels: labels},
				Template: corev1.PodTemplateSpec{
					ObjectMeta: metav1.ObjectMeta{Labels: labels},
					Spec: corev1.PodSpec{Containers: []corev1.Container{{
						Name: "manager", Image: p.image, Command: []string{"/manager"},
						Args: []string{"--leader-elect", "--diagnostics-address=:8443", "--insecure-diagnostics=false", "--feature-gates=" + FeatureGates},
					}}},
				},
			},
		}
		if err := e.Client.Create(ctx, d); err != nil {
			return fmt.Errorf("creating Deployment %s/%s: %w", d.Namespace, d.Name, err)
		}
		inventory := &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": "clusterctl.cluster.x-k8s.io/v1alpha3", "kind": "Provider",
			"metadata":     map[string]any{"namespace": p.namespace, "name": p.name, "labels": map[string]any{"cluster.x-k8s.io/provider": p.name, "clusterctl.cluster.x-k8s.io": ""}},
			"providerName": p.clusterctlName, "type": p.clusterctlType, "version": Version,
		}}
		if err := e.Client.Create(ctx, inventory); err != nil {
			return fmt.Errorf("creating clusterctl Provider %s/%s: %w", p.namespace, p.name, err)
		}
	}
	return nil
}
