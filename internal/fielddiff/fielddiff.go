// Package fielddiff lists where two decoded JSON objects differ, as dotted field
// paths that users can read and pass back (--assume-extension-covers).
package fielddiff

import (
	"reflect"
	"sort"
)

// Paths lists, sorted, the paths below path at which a and b differ. Maps are
// compared key by key; anything else (lists included) is compared whole, so a
// changed list is reported once, at its own path.
func Paths(a, b any, path string) []string {
	out := paths(a, b, path)
	sort.Strings(out)
	return out
}

func paths(a, b any, path string) []string {
	am, aok := a.(map[string]any)
	bm, bok := b.(map[string]any)
	if !aok || !bok {
		if reflect.DeepEqual(a, b) {
			return nil
		}
		return []string{path}
	}
	var out []string
	for k, av := range am {
		out = append(out, paths(av, bm[k], path+"."+k)...)
	}
	for k, bv := range bm {
		if _, ok := am[k]; !ok {
			out = append(out, paths(nil, bv, path+"."+k)...)
		}
	}
	return out
}

// Covers reports whether the covered path covers the difference at path: it is
// the same path or one of its parents.
func Covers(covered, path string) bool {
	return path == covered || (len(path) > len(covered) && path[:len(covered)] == covered && path[len(covered)] == '.')
}

// InfrastructureMachine prefixes the differences of a Machine's InfraMachine
// (or of its MachineDeployment's InfraMachineTemplate spec.template.spec).
const InfrastructureMachine = "infrastructureMachine"

// BootstrapConfig is the prefix of the differences of a Machine's bootstrap
// config of kind (or of its template's spec.template.spec): "kubeadmConfig" for
// KubeadmConfig and KubeadmConfigTemplate, "bootstrapConfig" for other providers.
func BootstrapConfig(kind string) string {
	if kind == "KubeadmConfig" || kind == "KubeadmConfigTemplate" {
		return "kubeadmConfig"
	}
	return "bootstrapConfig"
}

// NotCarried lists, sorted, the paths below path at which have does not carry
// what want sets: fields want leaves out are not compared (as server-side apply
// leaves other fields alone, and the API server defaults some), maps are
// compared key by key, anything else whole.
func NotCarried(want, have any, path string) []string {
	out := notCarried(want, have, path)
	sort.Strings(out)
	return out
}

func notCarried(want, have any, path string) []string {
	wm, ok := want.(map[string]any)
	if !ok {
		if reflect.DeepEqual(want, have) {
			return nil
		}
		return []string{path}
	}
	hm, _ := have.(map[string]any)
	var out []string
	for k, wv := range wm {
		out = append(out, notCarried(wv, hm[k], path+"."+k)...)
	}
	return out
}
