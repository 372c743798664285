// Command gen-crdschemas generates state/snapshot/crdschema/schemas.json
// from the CRDs of the Cluster API module in go.mod, read from the module cache.
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/capi-planner/capi-planner/state/snapshot/crdschema"
)

func main() {
	out := flag.String("o", "schemas.json", "output file")
	flag.Parse()
	if err := run(*out); err != nil {
		fmt.Fprintln(os.Stderr, "gen-crdschemas:", err)
		os.Exit(1)
	}
}

func run(out string) error {
	dir, module, err := crdschema.Locate()
	if err != nil {
		return err
	}
	src, err := crdschema.Generate(dir, module)
	if err != nil {
		return err
	}
	return os.WriteFile(out, src, 0o644)
}
