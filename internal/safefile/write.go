package safefile

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// WriteFile writes path atomically, so that a reader never sees half a file:
// write fills a temporary file in the same directory, which is then renamed
// over the path. Only a new path or a regular file is written, an existing
// file keeping its mode (a new one gets 0600); a symbolic link is written
// through, to its target. Devices, FIFOs, sockets and directories are refused.
// flag names the flag the path came from, for errors ("-o", "--out").
func WriteFile(path, flag string, write func(io.Writer) error) error {
	target, mode, err := ResolveOutput(path, flag)
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(target), "."+filepath.Base(target)+".*")
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, UnwrapPathError(err))
	}
	defer os.Remove(tmp.Name())
	if err := write(tmp); err != nil {
		tmp.Close()
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), target); err != nil {
		return fmt.Errorf("writing %s: %w", path, UnwrapPathError(err))
	}
	return nil
}

// ResolveOutput checks that WriteFile can write path, and returns the file it
// writes (a symbolic link's target) and the mode it gets.
func ResolveOutput(path, flag string) (target string, mode fs.FileMode, err error) {
	notRegular := func(t string) error {
		return fmt.Errorf("%s %s: is %s; capi-planner writes a regular file (use %s - for standard output)", flag, path, t, flag)
	}
	// Stat follows links EvalSymlinks cannot, such as /dev/stdout to a pipe.
	if info, err := os.Stat(path); err == nil && Type(info.Mode()) != "" {
		return "", 0, notRegular(Type(info.Mode()))
	}
	target, err = filepath.EvalSymlinks(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if info, lerr := os.Lstat(path); lerr == nil && info.Mode()&fs.ModeSymlink != 0 {
			return "", 0, fmt.Errorf("%s %s: is a symbolic link to a missing file; point it at a file, or write elsewhere", flag, path)
		}
		return path, 0o600, nil
	case err != nil:
		return "", 0, fmt.Errorf("%s %s: %w", flag, path, UnwrapPathError(err))
	}
	info, err := os.Stat(target)
	if err != nil {
		return "", 0, fmt.Errorf("%s %s: %w", flag, path, UnwrapPathError(err))
	}
	if t := Type(info.Mode()); t != "" {
		return "", 0, notRegular(t)
	}
	return target, info.Mode().Perm(), nil
}

// UnwrapPathError drops the *fs.PathError around err: messages name the path already.
func UnwrapPathError(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
