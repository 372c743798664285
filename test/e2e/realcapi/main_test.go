// Package realcapi compares capi-planner's predictions with what the real CAPI
// v1.14.2 controllers do. One management cluster in a box (internal/capienv) is
// shared by the package; each scenario provisions its Cluster in a namespace of
// its own, with an ExtensionConfig of its own for CAPI's test extension, plans it
// (offline from a snapshot, and live with and without --ask-extensions),
// triggers the upgrade, watches the controllers and compares, step by step.
//
// Scenarios run side by side; run one alone with go test -run.
package realcapi

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/go-logr/logr"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/capi-planner/capi-planner/internal/capienv"
	"github.com/capi-planner/capi-planner/internal/testutil/clitest"
)

var (
	env    *capienv.Env
	binary string
	root   = filepath.Join("..", "..", "..")
)

func TestMain(m *testing.M) {
	flag.Parse()
	// The tests' own controller-runtime clients log nothing; without a logger
	// controller-runtime prints a goroutine dump at its first log line (the
	// API server's deprecation warning for v1beta1, for one).
	ctrllog.SetLogger(logr.Discard())
	// The scenarios spend their time waiting for the controllers, not computing:
	// run them all side by side, whatever the number of cores (-parallel's default).
	if f := flag.Lookup("test.parallel"); f != nil && f.Value.String() == strconv.Itoa(runtime.GOMAXPROCS(0)) {
		_ = f.Value.Set("16")
	}
	code, err := setUp(m)
	if err != nil {
		fmt.Fprintln(os.Stderr, "realcapi:", err)
		os.Exit(1)
	}
	os.Exit(code)
}

// tool runs a hack/ script that prints a directory, building what it names once.
func tool(script string) (string, error) {
	cmd := exec.Command(filepath.Join(root, "hack", script))
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("hack/%s: %w", script, err)
	}
	return strings.TrimSpace(string(out)), nil
}

func setUp(m *testing.M) (int, error) {
	managers, err := tool("capi-managers.sh")
	if err != nil {
		return 0, err
	}
	assets := os.Getenv("KUBEBUILDER_ASSETS")
	if assets == "" {
		if assets, err = tool("envtest.sh"); err != nil {
			return 0, err
		}
	}
	dir, err := os.MkdirTemp("", "capi-planner-realcapi")
	if err != nil {
		return 0, err
	}
	keep := false
	defer func() {
		if !keep {
			os.RemoveAll(dir)
		}
	}()
	toolsModule, err := filepath.Abs(filepath.Join(root, "hack", "tools", "capi"))
	if err != nil {
		return 0, err
	}
	env, err = capienv.Start(context.Background(), capienv.Options{Dir: dir, Managers: managers, Assets: assets, ToolsModule: toolsModule,
		Log: func(format string, args ...any) {
			if testing.Verbose() {
				fmt.Fprintf(os.Stderr, "capienv: "+format+"\n", args...)
			}
		}})
	if err != nil {
		return 0, err
	}
	defer func() {
		if err := env.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, "realcapi: stopping the box:", err)
		}
	}()
	if binary, err = clitest.Build(root, dir); err != nil {
		return 0, err
	}
	code := m.Run()
	if code != 0 || os.Getenv("REALCAPI_KEEP_LOGS") != "" {
		// Keep the managers' logs of a failed run, or when asked to.
		keep = true
		fmt.Fprintf(os.Stderr, "realcapi: the managers' logs are in %s\n", filepath.Join(dir, "logs"))
	}
	return code, nil
}
