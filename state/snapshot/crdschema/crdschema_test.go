package crdschema

import (
	"bytes"
	"os"
	"testing"
)

// schemas.json is what the CRDs of the Cluster API module in go.mod hold (go generate rewrites it).
func TestGeneratedIsCurrent(t *testing.T) {
	dir, module, err := Locate()
	if err != nil {
		t.Fatal(err)
	}
	want, err := Generate(dir, module)
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile("schemas.json")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("schemas.json is not what the CRDs of %s hold: run go generate ./state/snapshot/crdschema", module)
	}
	if Source() != module {
		t.Errorf("Source() = %q, want %q", Source(), module)
	}
}
