package crdschema

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"sigs.k8s.io/yaml"
)

// CRDFiles are the CRDs, relative to the Cluster API module, of the kinds planning
// reads: Cluster API's own kinds, and the kubeadm control plane and its templates.
var CRDFiles = []string{
	"core/config/crd/bases/cluster.x-k8s.io_clusters.yaml",
	"core/config/crd/bases/cluster.x-k8s.io_clusterclasses.yaml",
	"core/config/crd/bases/cluster.x-k8s.io_machinedeployments.yaml",
	"core/config/crd/bases/cluster.x-k8s.io_machinesets.yaml",
	"core/config/crd/bases/cluster.x-k8s.io_machinepools.yaml",
	"core/config/crd/bases/cluster.x-k8s.io_machines.yaml",
	"core/config/crd/bases/cluster.x-k8s.io_machinehealthchecks.yaml",
	"core/config/crd/bases/runtime.cluster.x-k8s.io_extensionconfigs.yaml",
	"controlplane/kubeadm/config/crd/bases/controlplane.cluster.x-k8s.io_kubeadmcontrolplanes.yaml",
	"controlplane/kubeadm/config/crd/bases/controlplane.cluster.x-k8s.io_kubeadmcontrolplanetemplates.yaml",
	"bootstrap/kubeadm/config/crd/bases/bootstrap.cluster.x-k8s.io_kubeadmconfigtemplates.yaml",
}

// Locate returns the directory of the Cluster API module of go.mod in the module
// cache, and its path@version.
func Locate() (dir, module string, err error) {
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Path}}@{{.Version}} {{.Dir}}", "sigs.k8s.io/cluster-api").Output()
	if err != nil {
		return "", "", fmt.Errorf("go list -m sigs.k8s.io/cluster-api: %w (run go mod download)", err)
	}
	module, dir, _ = strings.Cut(strings.TrimSpace(string(out)), " ")
	if dir == "" {
		return "", "", fmt.Errorf("the module %s is not in the module cache: run go mod download", module)
	}
	return dir, module, nil
}

// Generate reads the CRDFiles under dir and returns the embedded file: the schema
// of every served version of each kind, without descriptions, one kind and
// version a line, keyed "group/version Kind".
func Generate(dir, module string) ([]byte, error) {
	schemas := map[string]json.RawMessage{}
	for _, f := range CRDFiles {
		data, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(f)))
		if err != nil {
			return nil, err
		}
		var crd apiextensionsv1.CustomResourceDefinition
		if err := yaml.UnmarshalStrict(data, &crd); err != nil {
			return nil, fmt.Errorf("%s: %w", f, err)
		}
		for _, v := range crd.Spec.Versions {
			if !v.Served {
				continue
			}
			if v.Schema == nil || v.Schema.OpenAPIV3Schema == nil {
				return nil, fmt.Errorf("%s: version %s has no schema", f, v.Name)
			}
			s := v.Schema.OpenAPIV3Schema.DeepCopy()
			dropDescriptions(s)
			raw, err := json.Marshal(s)
			if err != nil {
				return nil, err
			}
			schemas[Key(crd.Spec.Group+"/"+v.Name, crd.Spec.Names.Kind)] = raw
		}
	}
	keys := make([]string, 0, len(schemas))
	for k := range schemas {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b bytes.Buffer
	fmt.Fprintf(&b, "{\n%q: %q,\n", "source", module)
	for i, k := range keys {
		fmt.Fprintf(&b, "%q: %s", k, schemas[k])
		if i < len(keys)-1 {
			b.WriteByte(',')
		}
		b.WriteByte('\n')
	}
	b.WriteString("}\n")
	return b.Bytes(), nil
}

// dropDescriptions removes what validation does not read: descriptions.
func dropDescriptions(s *apiextensionsv1.JSONSchemaProps) {
	if s == nil {
		return
	}
	s.Description = ""
	for k, p := range s.Properties {
		dropDescriptions(&p)
		s.Properties[k] = p
	}
	if s.Items != nil {
		dropDescriptions(s.Items.Schema)
		for i := range s.Items.JSONSchemas {
			dropDescriptions(&s.Items.JSONSchemas[i])
		}
	}
	if s.AdditionalProperties != nil {
		dropDescriptions(s.AdditionalProperties.Schema)
	}
	for _, all := range [][]apiextensionsv1.JSONSchemaProps{s.AllOf, s.AnyOf, s.OneOf} {
		for i := range all {
			dropDescriptions(&all[i])
		}
	}
	dropDescriptions(s.Not)
}
