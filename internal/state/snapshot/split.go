package snapshot

import (
	"bufio"
	"bytes"
	"io"
	"strings"
)

// document is one YAML document of a file, with the line it starts on so that
// errors can point at the right place in multi-document files.
type document struct {
	index     int // 1-based position in the file
	startLine int // 1-based line of the document's first line
	data      []byte
}

// splitDocuments splits a YAML stream on "---" separator lines, keeping line numbers.
// Documents that hold nothing but comments and blank lines are dropped.
func splitDocuments(r io.Reader) ([]document, error) {
	var (
		docs    []document
		cur     bytes.Buffer
		start   = 1
		line    = 0
		content = false
	)
	flush := func() {
		if content {
			docs = append(docs, document{index: len(docs) + 1, startLine: start, data: bytes.Clone(cur.Bytes())})
		}
		cur.Reset()
		content = false
	}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64*1024), 64*1024*1024)
	for sc.Scan() {
		line++
		text := sc.Text()
		if text == "---" || strings.HasPrefix(text, "--- ") || strings.HasPrefix(text, "---\t") || text == "..." {
			flush()
			start = line + 1
			continue
		}
		if !content {
			trimmed := strings.TrimSpace(text)
			if trimmed == "" || strings.HasPrefix(trimmed, "#") {
				// Leading blank and comment lines: keep line numbers right by
				// starting the document after them.
				start = line + 1
				continue
			}
			content = true
		}
		cur.WriteString(text)
		cur.WriteByte('\n')
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	flush()
	return docs, nil
}
