// Package iostreams is the one way commands read input and write output: data
// on Out, logs and errors on ErrOut, with colour only on a terminal and never
// when NO_COLOR is set (https://no-color.org).
package iostreams

import (
	"bytes"
	"io"
	"os"

	"golang.org/x/term"
)

// IOStreams are a command's standard streams.
type IOStreams struct {
	In     io.Reader
	Out    io.Writer
	ErrOut io.Writer
	// OutIsTTY is true when Out is a terminal.
	OutIsTTY bool
	// Color is true when Out may carry ANSI colour.
	Color bool
}

// System returns the process's streams.
func System() *IOStreams {
	tty := term.IsTerminal(int(os.Stdout.Fd()))
	_, noColor := os.LookupEnv("NO_COLOR")
	return &IOStreams{
		In:       os.Stdin,
		Out:      os.Stdout,
		ErrOut:   os.Stderr,
		OutIsTTY: tty,
		Color:    tty && !noColor && os.Getenv("TERM") != "dumb",
	}
}

// Test returns streams backed by buffers, for tests.
func Test() (ios *IOStreams, in, out, errOut *bytes.Buffer) {
	in, out, errOut = &bytes.Buffer{}, &bytes.Buffer{}, &bytes.Buffer{}
	return &IOStreams{In: in, Out: out, ErrOut: errOut}, in, out, errOut
}
