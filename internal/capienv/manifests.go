package capienv

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
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

// webhookConfigurations reads a provider's config/webhook/manifests.yaml and
// points every webhook at url+path instead of its Service, with the CA bundle,
// named with the provider's kustomize prefix.
func webhookConfigurations(file, prefix, url string, caBundle []byte) ([]*admissionv1.MutatingWebhookConfiguration, []*admissionv1.ValidatingWebhookConfiguration, error) {
	docs, err := yamlDocuments(file)
	if err != nil {
		return nil, nil, err
	}
	rewrite := func(cc *admissionv1.WebhookClientConfig) error {
		if cc.Service == nil || cc.Service.Path == nil {
			return fmt.Errorf("%s: a webhook has no service path", file)
		}
		u := url + *cc.Service.Path
		cc.URL, cc.Service, cc.CABundle = &u, nil, caBundle
		return nil
	}
	var mutating []*admissionv1.MutatingWebhookConfiguration
	var validating []*admissionv1.ValidatingWebhookConfiguration
	for _, doc := range docs {
		var head struct{ Kind string }
		if err := yaml.Unmarshal(doc, &head); err != nil {
			return nil, nil, fmt.Errorf("%s: %w", file, err)
		}
		switch head.Kind {
		case "MutatingWebhookConfiguration":
			c := &admissionv1.MutatingWebhookConfiguration{}
			if err := yaml.UnmarshalStrict(doc, c); err != nil {
				return nil, nil, fmt.Errorf("%s: %w", file, err)
			}
			c.Name = prefix + c.Name
			for i := range c.Webhooks {
				if err := rewrite(&c.Webhooks[i].ClientConfig); err != nil {
					return nil, nil, err
				}
			}
			mutating = append(mutating, c)
		case "ValidatingWebhookConfiguration":
			c := &admissionv1.ValidatingWebhookConfiguration{}
			if err := yaml.UnmarshalStrict(doc, c); err != nil {
				return nil, nil, fmt.Errorf("%s: %w", file, err)
			}
			c.Name = prefix + c.Name
			for i := range c.Webhooks {
				if err := rewrite(&c.Webhooks[i].ClientConfig); err != nil {
					return nil, nil, err
				}
			}
			validating = append(validating, c)
		default:
			return nil, nil, fmt.Errorf("%s: unexpected kind %q", file, head.Kind)
		}
	}
	return mutating, validating, nil
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
