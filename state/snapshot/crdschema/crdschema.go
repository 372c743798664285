// Package crdschema validates objects against the OpenAPI v3 schemas of Cluster
// API's CRDs, with the API server's own validation code. The schemas are embedded
// (schemas.json), generated from the Cluster API module by hack/gen-crdschemas.
package crdschema

//go:generate go run ../../../hack/gen-crdschemas -o schemas.json

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"sync"

	"k8s.io/apiextensions-apiserver/pkg/apis/apiextensions"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	structuralschema "k8s.io/apiextensions-apiserver/pkg/apiserver/schema"
	structuraldefaulting "k8s.io/apiextensions-apiserver/pkg/apiserver/schema/defaulting"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/validation"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

//go:embed schemas.json
var schemasJSON []byte

// Key is how schemas.json names the schema of a kind in a version.
func Key(apiVersion, kind string) string { return apiVersion + " " + kind }

// embedded is schemas.json: Source is the module it was generated from, the
// other keys are schemas.
var embedded = sync.OnceValues(func() (map[string]json.RawMessage, error) {
	var m map[string]json.RawMessage
	return m, json.Unmarshal(schemasJSON, &m)
})

// Source is the Cluster API module the schemas come from, as path@version.
func Source() string {
	m, err := embedded()
	if err != nil {
		panic(fmt.Sprintf("crdschema: the embedded schemas.json is corrupt: %v", err))
	}
	var s string
	_ = json.Unmarshal(m["source"], &s)
	return s
}

// validator is one kind and version's schema, made ready for validation.
type validator struct {
	structural *structuralschema.Structural
	schema     validation.SchemaValidator
}

var validators sync.Map // Key -> func() (*validator, error), built once on first use

// schemaOf returns the embedded schema of a kind in a version, if any.
func schemaOf(gvk schema.GroupVersionKind) (key string, raw json.RawMessage, err error) {
	m, err := embedded()
	key = Key(gvk.GroupVersion().String(), gvk.Kind)
	return key, m[key], err
}

// validatorFor returns the validator of a kind in a version; nil without a schema.
func validatorFor(gvk schema.GroupVersionKind) (*validator, error) {
	key, raw, err := schemaOf(gvk)
	if raw == nil || err != nil {
		return nil, err
	}
	build, ok := validators.Load(key)
	if !ok {
		build, _ = validators.LoadOrStore(key, sync.OnceValues(func() (*validator, error) {
			var v1 apiextensionsv1.JSONSchemaProps
			if err := json.Unmarshal(raw, &v1); err != nil {
				return nil, fmt.Errorf("the embedded schema of %s: %w", key, err)
			}
			var internal apiextensions.JSONSchemaProps
			if err := apiextensionsv1.Convert_v1_JSONSchemaProps_To_apiextensions_JSONSchemaProps(&v1, &internal, nil); err != nil {
				return nil, fmt.Errorf("the embedded schema of %s: %w", key, err)
			}
			structural, err := structuralschema.NewStructural(&internal)
			if err != nil {
				return nil, fmt.Errorf("the embedded schema of %s is not structural: %w", key, err)
			}
			sv, _, err := validation.NewSchemaValidator(&internal)
			if err != nil {
				return nil, fmt.Errorf("the embedded schema of %s: %w", key, err)
			}
			return &validator{structural: structural, schema: sv}, nil
		}))
	}
	return build.(func() (*validator, error))()
}

// Known reports whether there is a schema for the kind in that version.
func Known(gvk schema.GroupVersionKind) bool {
	_, raw, err := schemaOf(gvk)
	return raw != nil && err == nil
}

// Validate checks obj (decoded JSON: maps, slices, strings, bool, int64, float64)
// as the API server checks a custom resource of kind gvk on create: it drops
// status (create cannot set it: the kinds with a status have the status
// subresource, the others' schemas have no status to keep), applies the
// schema's defaults, then validates against the schema. It changes obj. Kinds without an embedded schema are not
// checked.
func Validate(gvk schema.GroupVersionKind, obj map[string]any) (field.ErrorList, error) {
	v, err := validatorFor(gvk)
	if v == nil || err != nil {
		return nil, err
	}
	delete(obj, "status")
	structuraldefaulting.Default(obj, v.structural)
	return validation.ValidateCustomResource(nil, obj, v.schema), nil
}
