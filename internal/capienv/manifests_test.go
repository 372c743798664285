package capienv

import (
	"path/filepath"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// Every provider's webhooks and multi-version CRDs point at its manager on
// 127.0.0.1 with the box's CA, and no webhook is left pointing at a Service.
func TestManifestsPointAtTheManagers(t *testing.T) {
	mods, err := resolveModules(t.Context(), filepath.Join("..", "..", "hack", "tools", "capi"))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range providers {
		url := "https://127.0.0.1:1234"
		configs, err := webhookConfigurations(mods.config(p, "webhook", "manifests.yaml"), p.namePrefix, url, []byte("ca"))
		if err != nil {
			t.Fatal(err)
		}
		if len(configs) == 0 {
			t.Errorf("%s: no webhook configurations", p.name)
		}
		for _, c := range configs {
			if !strings.HasPrefix(c.GetName(), p.namePrefix) {
				t.Errorf("%s: %s is not prefixed", p.name, c.GetName())
			}
			hooks, _, _ := unstructured.NestedSlice(c.Object, "webhooks")
			for _, h := range hooks {
				cc, _, _ := unstructured.NestedMap(h.(map[string]any), "clientConfig")
				if u, _ := cc["url"].(string); !strings.HasPrefix(u, url+"/") || cc["service"] != nil || cc["caBundle"] != "Y2E=" {
					t.Errorf("%s %s: clientConfig %v", p.name, c.GetName(), cc)
				}
			}
		}
		list, err := crds(mods.config(p, "crd", "bases"), url, []byte("ca"))
		if err != nil {
			t.Fatal(err)
		}
		for _, crd := range list {
			if crd.Labels["cluster.x-k8s.io/v1beta2"] != "v1beta2" {
				t.Errorf("%s: no contract label", crd.Name)
			}
			if len(crd.Spec.Versions) > 1 && (crd.Spec.Conversion == nil || *crd.Spec.Conversion.Webhook.ClientConfig.URL != url+"/convert") {
				t.Errorf("%s: conversion %+v", crd.Name, crd.Spec.Conversion)
			}
		}
	}
}
