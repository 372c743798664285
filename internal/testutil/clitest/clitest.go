// Package clitest builds the capi-planner binary and runs it the way users and
// CI do, for the end-to-end and integration test packages.
package clitest

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// Build builds capi-planner from the module root into dir and returns its path.
func Build(root, dir string) (string, error) {
	bin := filepath.Join(dir, "capi-planner")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/capi-planner")
	cmd.Dir, cmd.Stderr = root, os.Stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("building capi-planner: %w", err)
	}
	return bin, nil
}

// Result is what one run printed and its exit code.
type Result struct {
	Stdout, Stderr string
	Code           int
}

// Run runs the binary in dir with stdin and args. The machine's kubeconfig is
// hidden, so nothing is read live unless the args say so. A panic fails the test.
func Run(t testing.TB, binary, dir, stdin string, args ...string) Result {
	t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "KUBECONFIG=", "HOME="+t.TempDir())
	cmd.Stdin = strings.NewReader(stdin)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	r := Result{Stdout: out.String(), Stderr: errOut.String()}
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		r.Code = exit.ExitCode()
	case err != nil:
		t.Fatal(err)
	}
	if strings.Contains(r.Stderr, "panic") || strings.Contains(r.Stderr, "goroutine ") {
		t.Fatalf("capi-planner %s panicked:\n%s", strings.Join(args, " "), r.Stderr)
	}
	return r
}
