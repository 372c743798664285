//go:build tools

// Package tools pins staticcheck for make lint (hack/staticcheck.sh builds it).
package tools

import _ "honnef.co/go/tools/cmd/staticcheck"
