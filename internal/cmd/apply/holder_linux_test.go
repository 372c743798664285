package apply

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// A holder is judged gone from here only when it names this process scope:
// a holder of another container with the same host name is not.
func TestLocalHolderGone(t *testing.T) {
	scope := processScope()
	if !strings.HasPrefix(scope, "pidns:") || !strings.Contains(scope, " boot:") {
		t.Fatalf("processScope() = %q", scope)
	}
	if h := defaultHolder(); !strings.HasSuffix(h, fmt.Sprintf("/%d %s", os.Getpid(), scope)) {
		t.Errorf("defaultHolder() = %q", h)
	}
	exited := exec.Command("true")
	if err := exited.Run(); err != nil {
		t.Fatal(err)
	}
	host, _ := os.Hostname()
	dead, alive := exited.Process.Pid, os.Getpid()
	for _, tc := range []struct {
		holder string
		gone   bool
	}{
		{fmt.Sprintf("u@%s/%d %s", host, dead, scope), true},
		{fmt.Sprintf("u@%s/%d %s", host, alive, scope), false},
		{fmt.Sprintf("u@%s/%d pidns:1 boot:00000000", host, dead), false},
		{fmt.Sprintf("u@%s/%d", host, dead), false},
		{fmt.Sprintf("u@other-%s/%d %s", host, dead, scope), false},
		{"someone else", false},
	} {
		if got := localHolderGone(tc.holder); got != tc.gone {
			t.Errorf("localHolderGone(%q) = %v, want %v", tc.holder, got, tc.gone)
		}
	}
}
