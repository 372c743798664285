// Command gen-supportmatrix generates internal/supportmatrix/matrix_generated.go
// from docs/book/src/reference/versions.md of the Cluster API module in go.mod,
// read from the module cache.
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/capi-planner/capi-planner/internal/supportmatrix"
)

func main() {
	out := flag.String("o", "matrix_generated.go", "output file")
	flag.Parse()
	if err := run(*out); err != nil {
		fmt.Fprintln(os.Stderr, "gen-supportmatrix:", err)
		os.Exit(1)
	}
}

func run(out string) error {
	path, module, err := supportmatrix.Locate()
	if err != nil {
		return err
	}
	doc, err := os.Open(path)
	if err != nil {
		return err
	}
	defer doc.Close()
	src, err := supportmatrix.Generate(doc, module)
	if err != nil {
		return err
	}
	return os.WriteFile(out, src, 0o644)
}
