// Package safefile opens the files users name in flags so that a read always
// ends: only regular files, never a FIFO, device or socket, opened without
// waiting for a FIFO's writer.
package safefile

import (
	"fmt"
	"io"
	"io/fs"
	"os"
	"syscall"

	"k8s.io/apimachinery/pkg/api/resource"
)

// Type names the type of a file that is not a regular file ("" for one).
func Type(m fs.FileMode) string {
	switch {
	case m.IsRegular():
		return ""
	case m.IsDir():
		return "a directory"
	case m&fs.ModeNamedPipe != 0:
		return "a FIFO (named pipe)"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeCharDevice != 0:
		return "a character device"
	case m&fs.ModeDevice != 0:
		return "a block device"
	default:
		return "not a regular file"
	}
}

// NotRegularError is a path that is not a regular file.
type NotRegularError struct {
	Path, Type string
}

func (e *NotRegularError) Error() string {
	return fmt.Sprintf("%s is %s; expected a regular file", e.Path, e.Type)
}

// Open opens a regular file for reading, and refuses anything else without
// blocking on it. Errors name the path.
func Open(path string) (*os.File, fs.FileInfo, error) {
	// Sockets cannot be opened at all: say what they are.
	if info, err := os.Stat(path); err == nil && Type(info.Mode()) != "" {
		return nil, nil, &NotRegularError{Path: path, Type: Type(info.Mode())}
	}
	// O_NONBLOCK: opening a FIFO does not wait for a writer, so it can be refused.
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, nil, err
	}
	info, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	if t := Type(info.Mode()); t != "" {
		f.Close()
		return nil, nil, &NotRegularError{Path: path, Type: t}
	}
	return f, info, nil
}

// Size writes a size in bytes as a Kubernetes quantity, e.g. 256Mi.
func Size(n int64) string { return resource.NewQuantity(n, resource.BinarySI).String() }

// ReadFile reads a regular file of at most limit bytes.
func ReadFile(path string, limit int64) ([]byte, error) {
	f, _, err := Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("%s is larger than the limit of %s bytes per file", path, Size(limit))
	}
	return data, nil
}

// Check refuses a path that exists and is not a regular file of at most limit
// bytes (0: any size), for files that a library reads itself. A missing path passes.
func Check(path string, limit int64) error {
	info, err := os.Stat(path)
	switch {
	case err != nil:
		return nil
	case Type(info.Mode()) != "":
		return &NotRegularError{Path: path, Type: Type(info.Mode())}
	case limit > 0 && info.Size() > limit:
		return fmt.Errorf("%s is larger than the limit of %s bytes per file", path, Size(limit))
	}
	return nil
}
