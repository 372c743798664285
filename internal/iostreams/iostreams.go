// Package iostreams is the one way commands read input and write output: data
// on Out, logs and errors on ErrOut, with colour only on a terminal and never
// when NO_COLOR is set (https://no-color.org).
package iostreams

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"golang.org/x/term"
)

// IOStreams are a command's standard streams.
type IOStreams struct {
	In     io.Reader
	Out    io.Writer
	ErrOut io.Writer
	// OutIsTTY is true when Out is a terminal; InIsTTY and ErrIsTTY, In and ErrOut.
	OutIsTTY bool
	InIsTTY  bool
	ErrIsTTY bool
	// ErrWidth is ErrOut's width in columns when it is a terminal that says (0 otherwise).
	ErrWidth int
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
		InIsTTY:  term.IsTerminal(int(os.Stdin.Fd())),
		ErrIsTTY: term.IsTerminal(int(os.Stderr.Fd())),
		ErrWidth: width(os.Stderr),
		Color:    tty && !noColor && os.Getenv("TERM") != "dumb",
	}
}

// Test returns streams backed by buffers, for tests.
func Test() (ios *IOStreams, in, out, errOut *bytes.Buffer) {
	in, out, errOut = &bytes.Buffer{}, &bytes.Buffer{}, &bytes.Buffer{}
	return &IOStreams{In: in, Out: out, ErrOut: errOut}, in, out, errOut
}

// ErrNotInteractive is a prompt that cannot be asked: standard input is not a terminal.
var ErrNotInteractive = errors.New("standard input is not a terminal")

// Confirm asks a yes/no question on ErrOut and reads the answer from In; only
// "yes" confirms, as Terraform asks. It never asks without a terminal.
// Ctrl-C (ctx) ends the wait for an answer.
func (s *IOStreams) Confirm(ctx context.Context, question string) (bool, error) {
	if !s.InIsTTY {
		return false, ErrNotInteractive
	}
	fmt.Fprintf(s.ErrOut, "%s\n  Only 'yes' will be accepted to confirm.\n\n  Enter a value: ", question)
	type answer struct {
		line string
		err  error
	}
	answers := make(chan answer, 1)
	go func() {
		line, err := bufio.NewReader(s.In).ReadString('\n')
		answers <- answer{line, err}
	}()
	select {
	case <-ctx.Done():
		return false, context.Cause(ctx)
	case a := <-answers:
		if a.err != nil && a.line == "" {
			return false, a.err
		}
		return strings.TrimSpace(a.line) == "yes", nil
	}
}

func width(f *os.File) int {
	w, _, err := term.GetSize(int(f.Fd()))
	if err != nil {
		return 0
	}
	return w
}
