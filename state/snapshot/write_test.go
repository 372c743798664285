package snapshot

import (
	"os"
	"path/filepath"
	goruntime "runtime"
	"strings"
	"syscall"
	"testing"

	"github.com/capi-planner/capi-planner/state"
)

func TestWriteFileTargets(t *testing.T) {
	if goruntime.GOOS == "windows" {
		t.Skip("no FIFOs or file modes")
	}
	dir := t.TempDir()
	st := &state.State{}
	read := func(p string) string {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		return string(data)
	}

	// A new path: written, 0600.
	fresh := filepath.Join(dir, "new.yaml")
	if err := WriteFile(fresh, st, "h"); err != nil {
		t.Fatal(err)
	}
	if info, _ := os.Stat(fresh); info.Mode().Perm() != 0o600 || read(fresh) != "# h\n" {
		t.Errorf("new file: mode %v, %q", info.Mode(), read(fresh))
	}

	// An existing file keeps its mode.
	existing := filepath.Join(dir, "old.yaml")
	if err := os.WriteFile(existing, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := WriteFile(existing, st, "h"); err != nil {
		t.Fatal(err)
	}
	if info, _ := os.Stat(existing); info.Mode().Perm() != 0o644 || read(existing) != "# h\n" {
		t.Errorf("existing file: mode %v, %q", info.Mode(), read(existing))
	}

	// A symbolic link is written through and stays a link.
	link := filepath.Join(dir, "link.yaml")
	if err := os.WriteFile(existing, []byte("old"), 0o640); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(existing, 0o640); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("old.yaml", link); err != nil {
		t.Fatal(err)
	}
	if err := WriteFile(link, st, "via link"); err != nil {
		t.Fatal(err)
	}
	if info, _ := os.Lstat(link); info.Mode()&os.ModeSymlink == 0 {
		t.Error("the link was replaced")
	}
	if info, _ := os.Stat(existing); info.Mode().Perm() != 0o640 || read(existing) != "# via link\n" {
		t.Errorf("link target: mode %v, %q", info.Mode(), read(existing))
	}

	// Devices, FIFOs, directories and dangling links are refused, untouched.
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	dangling := filepath.Join(dir, "dangling.yaml")
	if err := os.Symlink("missing.yaml", dangling); err != nil {
		t.Fatal(err)
	}
	for p, want := range map[string]string{
		os.DevNull: "is a character device",
		fifo:       "is a FIFO (named pipe)",
		dir:        "is a directory",
		dangling:   "is a symbolic link to a missing file",
	} {
		err := WriteFile(p, st, "h")
		if err == nil || !strings.Contains(err.Error(), "-o "+p+": "+want) {
			t.Errorf("%s: %v", p, err)
		}
		info, lerr := os.Lstat(p)
		if lerr != nil || info.Mode().IsRegular() {
			t.Errorf("%s was replaced: %v", p, lerr)
		}
	}
}
