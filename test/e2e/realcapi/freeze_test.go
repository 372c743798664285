package realcapi

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/Masterminds/semver/v3"
	admissionv1 "k8s.io/api/admission/v1"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	ctrlclient "sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	controlplanev1 "sigs.k8s.io/cluster-api/api/controlplane/kubeadm/v1beta2"
)

// freezeWebhook serves a validating admission webhook over HTTPS (with the
// box's certificate) that refuses any change of a KubeadmControlPlane's
// spec.version in namespace ns, as a platform team's change-freeze webhook
// would, and registers it with the API server. It declares no side effects,
// so the API server calls it on dry-run requests too. It returns once the
// API server calls it; unregister removes the registration, and the server
// stops when the test ends.
func freezeWebhook(ctx context.Context, t testing.TB, ns, message string) (unregister func()) {
	t.Helper()
	refuse := admission.HandlerFunc(func(_ context.Context, req admission.Request) admission.Response {
		if req.Operation != admissionv1.Update {
			return admission.Allowed("")
		}
		var old, updated controlplanev1.KubeadmControlPlane
		if err := json.Unmarshal(req.OldObject.Raw, &old); err != nil {
			return admission.Errored(http.StatusBadRequest, err)
		}
		if err := json.Unmarshal(req.Object.Raw, &updated); err != nil {
			return admission.Errored(http.StatusBadRequest, err)
		}
		if updated.Spec.Version != old.Spec.Version {
			return admission.Denied(message)
		}
		return admission.Allowed("")
	})
	handler, err := admission.StandaloneWebhook(&admission.Webhook{Handler: refuse}, admission.StandaloneOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cert, err := tls.LoadX509KeyPair(filepath.Join(env.CertDir(), "tls.crt"), filepath.Join(env.CertDir(), "tls.key"))
	if err != nil {
		t.Fatal(err)
	}
	listener, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/freeze", handler)
	server := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	served := make(chan error, 1)
	go func() { served <- server.Serve(listener) }()

	url := "https://" + listener.Addr().(*net.TCPAddr).String() + "/freeze"
	none := admissionregistrationv1.SideEffectClassNone
	config := &admissionregistrationv1.ValidatingWebhookConfiguration{
		ObjectMeta: metav1.ObjectMeta{Name: "freeze-" + ns},
		Webhooks: []admissionregistrationv1.ValidatingWebhook{{
			Name:                    "freeze.capi-planner.test",
			ClientConfig:            admissionregistrationv1.WebhookClientConfig{URL: &url, CABundle: env.CABundle()},
			AdmissionReviewVersions: []string{"v1"},
			SideEffects:             &none,
			FailurePolicy:           ptr.To(admissionregistrationv1.Fail),
			TimeoutSeconds:          ptr.To[int32](5),
			Rules: []admissionregistrationv1.RuleWithOperations{{
				Operations: []admissionregistrationv1.OperationType{admissionregistrationv1.Update},
				Rule: admissionregistrationv1.Rule{APIGroups: []string{controlplanev1.GroupVersion.Group}, APIVersions: []string{"*"},
					Resources: []string{"kubeadmcontrolplanes"}},
			}},
			NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{corev1.LabelMetadataName: ns}},
		}},
	}
	if err := env.Client.Create(ctx, config); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := server.Shutdown(shutdown); err != nil {
			t.Error(err)
		}
		if err := <-served; !errors.Is(err, http.ErrServerClosed) {
			t.Error(err)
		}
	})
	waitAdmission(ctx, t, ns, message)
	return func() {
		t.Helper()
		if err := env.Client.Delete(ctx, config); err != nil {
			t.Fatal(err)
		}
		waitAdmission(ctx, t, ns, "")
	}
}

// waitAdmission waits until the API server, which loads webhook
// configurations asynchronously, answers a server dry run of a patch-release
// change of a KubeadmControlPlane in ns with an error that says refusal, or
// with no error when refusal is empty.
func waitAdmission(ctx context.Context, t testing.TB, ns, refusal string) {
	t.Helper()
	kcps := &controlplanev1.KubeadmControlPlaneList{}
	if err := env.Client.List(ctx, kcps, ctrlclient.InNamespace(ns)); err != nil || len(kcps.Items) == 0 {
		t.Fatalf("the KubeadmControlPlanes in %s: %v (%d)", ns, err, len(kcps.Items))
	}
	kcp := kcps.Items[0].DeepCopy()
	v, err := semver.NewVersion(kcp.Spec.Version)
	if err != nil {
		t.Fatal(err)
	}
	kcp.Spec.Version = "v" + v.IncPatch().String()
	deadline := time.Now().Add(time.Minute)
	for {
		err := env.Client.Update(ctx, kcp.DeepCopy(), ctrlclient.DryRunAll)
		if refusal == "" && err == nil || refusal != "" && err != nil && strings.Contains(err.Error(), refusal) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("a server dry run of %s in %s: %v (waiting for %q)", kcp.Spec.Version, ns, err, refusal)
		}
		time.Sleep(time.Second)
	}
}
