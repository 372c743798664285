package state

import (
	"errors"
	"sort"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	cliflag "k8s.io/component-base/cli/flag"
)

// Controller is what a provider's controller Deployment says about the running CAPI.
type Controller struct {
	Namespace string
	Name      string
	// Provider is the cluster.x-k8s.io/provider label, e.g. cluster-api, control-plane-kubeadm.
	Provider string
	Image    string
	// Version is the image tag, e.g. v1.14.2 ("" when the image has no tag).
	Version string
	// FeatureGates are the gates set with --feature-gates; absent gates keep their defaults.
	FeatureGates map[string]bool
	// FeatureGatesArg is the raw --feature-gates value, when it could not be parsed.
	FeatureGatesArg string
}

// ControllerInfo reads the controllers' versions and feature gates from their Deployments.
func (s *State) ControllerInfo() []Controller {
	var out []Controller
	for _, d := range s.Controllers {
		for _, c := range d.Spec.Template.Spec.Containers {
			if c.Name != "manager" && len(d.Spec.Template.Spec.Containers) > 1 {
				continue
			}
			ctrl := Controller{Namespace: d.Namespace, Name: d.Name, Provider: d.Labels[ProviderLabel], Image: c.Image, Version: imageTag(c.Image)}
			args := append(append([]string{}, c.Command...), c.Args...)
			for i, a := range args {
				value, ok := strings.CutPrefix(a, "--feature-gates=")
				if !ok && a == "--feature-gates" && i+1 < len(args) {
					value, ok = args[i+1], true
				}
				if ok {
					// A malformed value is kept raw, for the plan to report.
					ctrl.FeatureGates, ctrl.FeatureGatesArg = nil, value
					if gates, err := ParseFeatureGates(value); err == nil {
						ctrl.FeatureGates, ctrl.FeatureGatesArg = gates, ""
					}
				}
			}
			out = append(out, ctrl)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Provider < out[j].Provider })
	return out
}

func imageTag(image string) string {
	image, _, _ = strings.Cut(image, "@")
	slash := strings.LastIndex(image, "/")
	if colon := strings.LastIndex(image, ":"); colon > slash {
		return image[colon+1:]
	}
	return ""
}

// ParseFeatureGates parses a --feature-gates value, "A=true,B=false", as the
// controllers' own flag does (component-base's MapStringBool: empty pairs
// skipped, spaces trimmed), refusing a pair without a name.
func ParseFeatureGates(value string) (map[string]bool, error) {
	gates := map[string]bool{}
	if err := cliflag.NewMapStringBool(&gates).Set(value); err != nil {
		return nil, err
	}
	if _, ok := gates[""]; ok {
		return nil, errors.New("a pair without a feature name")
	}
	return gates, nil
}

// ProviderInfo is one clusterctl Provider object.
type ProviderInfo struct {
	Namespace, Name, Type, ProviderName, Version string
}

// ProviderInfos reads clusterctl's Provider objects.
func (s *State) ProviderInfos() []ProviderInfo {
	var out []ProviderInfo
	for _, p := range s.Providers {
		str := func(field string) string { v, _, _ := unstructured.NestedString(p.Object, field); return v }
		out = append(out, ProviderInfo{Namespace: p.GetNamespace(), Name: p.GetName(), Type: str("type"), ProviderName: str("providerName"), Version: str("version")})
	}
	return out
}
