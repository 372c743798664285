package snapshot

import (
	"bytes"
	"io"
)

// document is one YAML document of a file, with the line it starts on so that
// errors can point at the right place in multi-document files.
type document struct {
	index     int // 1-based position in the file
	startLine int // 1-based line of the document's first line
	data      []byte
}

// splitDocuments splits a YAML stream on "---" separator lines (and "..." end
// markers), keeping line numbers. Documents that hold nothing but comments and
// blank lines are dropped. The documents share the buffer the stream is read into.
func splitDocuments(r io.Reader) ([]document, error) {
	all, err := io.ReadAll(r)
	if err != nil {
		return nil, err
	}
	var (
		docs    []document
		start   = -1 // offset of the current document's first content line
		first   = 1  // its line number
		line    = 0
		content = false
	)
	flush := func(end int) {
		if content {
			docs = append(docs, document{index: len(docs) + 1, startLine: first, data: all[start:end]})
		}
		content = false
	}
	for off := 0; off < len(all); {
		line++
		eol := bytes.IndexByte(all[off:], '\n')
		next := len(all)
		if eol >= 0 {
			next = off + eol + 1
		}
		text := bytes.TrimRight(all[off:next], "\r\n")
		switch {
		case isSeparator(text):
			flush(off)
		case !content:
			trimmed := bytes.TrimSpace(text)
			if len(trimmed) > 0 && trimmed[0] != '#' {
				// Leading blank and comment lines are left out, so line numbers
				// count from the document's first content line.
				content, start, first = true, off, line
			}
		}
		off = next
	}
	flush(len(all))
	return docs, nil
}

func isSeparator(line []byte) bool {
	return bytes.Equal(line, []byte("---")) || bytes.HasPrefix(line, []byte("--- ")) || bytes.HasPrefix(line, []byte("---\t")) || bytes.Equal(line, []byte("..."))
}
