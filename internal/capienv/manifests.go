package capienv

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"
)

// contractLabels are what clusterctl's kustomize adds to every CAPI CRD: the
// topology controller reads from them which API version implements a contract.
var contractLabels = map[string]string{"cluster.x-k8s.io/v1beta2": "v1beta2"}

// crds reads a provider's CRDs from its config/crd/bases, labels them as
// clusterctl does, and points the conversion of every CRD with more than one
// version at the provider's webhook server, as its config/crd/patches do.
func crds(dir string, webhookURL string, caBundle []byte) ([]*apiextensionsv1.CustomResourceDefinition, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil || len(files) == 0 {
		return nil, fmt.Errorf("no CRDs in %s (%v)", dir, err)
	}
	sort.Strings(files)
	var out []*apiextensionsv1.CustomResourceDefinition
	for _, f := range files {
		docs, err := yamlDocuments(f)
		if err != nil {
			return nil, err
		}
		for _, doc := range docs {
			crd := &apiextensionsv1.CustomResourceDefinition{}
			if err := yaml.UnmarshalStrict(doc, crd); err != nil {
				return nil, fmt.Errorf("%s: %w", f, err)
			}
			if crd.Labels == nil {
				crd.Labels = map[string]string{}
			}
			for k, v := range contractLabels {
				crd.Labels[k] = v
			}
			if len(crd.Spec.Versions) > 1 {
				url := webhookURL + "/convert"
				crd.Spec.Conversion = &apiextensionsv1.CustomResourceConversion{
					Strategy: apiextensionsv1.WebhookConverter,
					Webhook: &apiextensionsv1.WebhookConversion{
						ClientConfig:             &apiextensionsv1.WebhookClientConfig{URL: &url, CABundle: caBundle},
						ConversionReviewVersions: []string{"v1"},
					},
				}
			}
			out = append(out, crd)
		}
	}
	return out, nil
}

// webhookConfigurations reads a provider's config/webhook/manifests.yaml (its
// Mutating- and ValidatingWebhookConfigurations) and points every webhook at
// url+path instead of its Service, with the CA bundle, named with the
// provider's kustomize prefix.
func webhookConfigurations(file, prefix, url string, caBundle []byte) ([]*unstructured.Unstructured, error) {
	docs, err := yamlDocuments(file)
	if err != nil {
		return nil, err
	}
	var out []*unstructured.Unstructured
	for _, doc := range docs {
		u := &unstructured.Unstructured{}
		if err := yaml.Unmarshal(doc, &u.Object); err != nil {
			return nil, fmt.Errorf("%s: %w", file, err)
		}
		if k := u.GetKind(); k != "MutatingWebhookConfiguration" && k != "ValidatingWebhookConfiguration" {
			return nil, fmt.Errorf("%s: unexpected kind %q", file, k)
		}
		u.SetName(prefix + u.GetName())
		webhooks, _, _ := unstructured.NestedSlice(u.Object, "webhooks")
		for i, w := range webhooks {
			hook, _ := w.(map[string]any)
			path, ok, _ := unstructured.NestedString(hook, "clientConfig", "service", "path")
			if !ok {
				return nil, fmt.Errorf("%s: webhook %d of %s has no service path", file, i, u.GetName())
			}
			hook["clientConfig"] = map[string]any{"url": url + path, "caBundle": base64.StdEncoding.EncodeToString(caBundle)}
		}
		if err := unstructured.SetNestedSlice(u.Object, webhooks, "webhooks"); err != nil {
			return nil, err
		}
		out = append(out, u)
	}
	return out, nil
}

// yamlDocuments splits a YAML file into its non-empty documents.
func yamlDocuments(file string) ([][]byte, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	var out [][]byte
	for {
		doc, err := r.Read()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", file, err)
		}
		if len(bytes.TrimSpace(doc)) > 0 && !bytes.Equal(bytes.TrimSpace(doc), []byte("---")) {
			out = append(out, doc)
		}
	}
}
