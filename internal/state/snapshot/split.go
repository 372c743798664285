package snapshot

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"

	"golang.org/x/text/encoding/unicode"
	"golang.org/x/text/transform"

	"github.com/capi-planner/capi-planner/internal/safefile"
)

// document is one YAML or JSON document of a file, with the line it starts on
// so that errors can point at the right place in multi-document files.
type document struct {
	index     int // 1-based position in the file
	startLine int // 1-based line of the document's first line
	data      []byte
}

// LimitError is an input larger than a limit of Options.
type LimitError struct {
	// File is the input; Line is the first line of the document, 0 for a whole file.
	File  string
	Line  int
	Limit int64
	// Document is true when one document, not the file, is over the limit.
	Document bool
}

func (e *LimitError) Error() string {
	size := safefile.Size(e.Limit)
	if e.Document {
		return fmt.Sprintf("%s:%d: the document starting here is larger than the limit of %s bytes per document", e.File, e.Line, size)
	}
	return fmt.Sprintf("%s: larger than the limit of %s bytes per file", e.File, size)
}

// countingReader counts the bytes read and the offsets of the newlines not yet
// asked about, and fails once more than limit bytes were read.
type countingReader struct {
	r        io.Reader
	n, limit int64
	newlines []int64
	overflow error
}

func (c *countingReader) Read(p []byte) (int, error) {
	if c.n > c.limit {
		return 0, c.overflow
	}
	n, err := c.r.Read(p)
	for i, b := range p[:n] {
		if b == '\n' {
			c.newlines = append(c.newlines, c.n+int64(i))
		}
	}
	c.n += int64(n)
	return n, err
}

// linesBefore returns how many newlines come before offset, forgetting them:
// offsets must be asked in increasing order.
func (c *countingReader) linesBefore(offset int64, lines *int) {
	i := 0
	for i < len(c.newlines) && c.newlines[i] < offset {
		i++
	}
	*lines += i
	c.newlines = c.newlines[i:]
}

// splitter reads a stream document by document, so that memory follows the
// largest document rather than the file.
type splitter struct {
	file   string
	maxDoc int64
	// size is the file's size when known (0 otherwise): a large document's
	// buffer then grows once, to what is left of the file, instead of doubling.
	size  int64
	emit  func(document) error
	ctx   context.Context
	index int
}

// decodeText returns a reader of the stream as UTF-8: a UTF-8 byte-order mark is
// dropped, UTF-16 with a byte-order mark is decoded.
func decodeText(in *bufio.Reader) *bufio.Reader {
	head, _ := in.Peek(3)
	switch {
	case bytes.HasPrefix(head, []byte{0xEF, 0xBB, 0xBF}):
		_, _ = in.Discard(3)
	case bytes.HasPrefix(head, []byte{0xFE, 0xFF}), bytes.HasPrefix(head, []byte{0xFF, 0xFE}):
		return bufio.NewReader(transform.NewReader(in, unicode.UTF16(unicode.BigEndian, unicode.ExpectBOM).NewDecoder()))
	}
	return in
}

// split reads every document of in: a JSON stream (one or more JSON values,
// such as JSON lines) when it starts with '{', else YAML documents separated by
// "---" lines. Documents holding nothing but comments and blank lines are dropped.
func (s *splitter) split(in io.Reader) error {
	br := decodeText(bufio.NewReaderSize(in, 64<<10))
	var lead []byte // leading whitespace, given back to YAML
	for {
		b, err := br.ReadByte()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if b != ' ' && b != '\t' && b != '\r' && b != '\n' {
			_ = br.UnreadByte()
			if b == '{' {
				return s.splitJSON(bytes.Count(lead, []byte("\n")), br)
			}
			return s.splitYAML(bufio.NewReaderSize(io.MultiReader(bytes.NewReader(lead), br), 64<<10))
		}
		if lead = append(lead, b); int64(len(lead)) > s.maxDoc {
			return &LimitError{File: s.file, Line: 1, Limit: s.maxDoc, Document: true}
		}
	}
}

func (s *splitter) flush(startLine int, data []byte) error {
	if err := s.ctx.Err(); err != nil {
		return err
	}
	s.index++
	return s.emit(document{index: s.index, startLine: startLine, data: data})
}

func (s *splitter) splitYAML(br *bufio.Reader) error {
	var (
		doc      = &bytes.Buffer{}
		first    int // line number of the current document's first content line
		line     int
		content  bool
		consumed int64
		grown    bool
	)
	for eof := false; !eof; {
		lineStart := doc.Len()
		for {
			chunk, err := br.ReadSlice('\n')
			if !grown && s.size > 0 && doc.Len() > largeDocument {
				grown = true
				if left := min(s.size-consumed, s.maxDoc-int64(doc.Len())+1, math.MaxInt32); left > 0 {
					doc.Grow(int(left))
				}
			}
			consumed += int64(len(chunk))
			doc.Write(chunk)
			if int64(doc.Len()) > s.maxDoc {
				at := first
				if !content {
					at = line + 1
				}
				return &LimitError{File: s.file, Line: at, Limit: s.maxDoc, Document: true}
			}
			if err == bufio.ErrBufferFull {
				continue
			}
			if err == io.EOF {
				eof = true
			} else if err != nil {
				return err
			}
			break
		}
		if doc.Len() == lineStart {
			break
		}
		line++
		text := bytes.TrimRight(doc.Bytes()[lineStart:], "\r\n")
		switch {
		case isSeparator(text):
			doc.Truncate(lineStart)
			if content {
				if err := s.flush(first, doc.Bytes()); err != nil {
					return err
				}
				doc, content, grown = &bytes.Buffer{}, false, false
			}
		case !content:
			if trimmed := bytes.TrimSpace(text); len(trimmed) > 0 && trimmed[0] != '#' {
				// Leading blank and comment lines are left out, so line numbers
				// count from the document's first content line.
				content, first = true, line
			} else {
				doc.Truncate(lineStart)
			}
		}
	}
	if content {
		return s.flush(first, doc.Bytes())
	}
	return nil
}

// splitJSON reads a stream of JSON values; leadLines newlines came before it.
func (s *splitter) splitJSON(leadLines int, br *bufio.Reader) error {
	cr := &countingReader{r: br, limit: s.maxDoc}
	dec := json.NewDecoder(cr)
	line := leadLines + 1
	for {
		cr.limit = dec.InputOffset() + s.maxDoc + 64<<10
		cr.overflow = &LimitError{File: s.file, Line: line, Limit: s.maxDoc, Document: true}
		var raw json.RawMessage
		err := dec.Decode(&raw)
		if err == io.EOF {
			return nil
		}
		if err != nil {
			var se *json.SyntaxError
			if errors.As(err, &se) {
				cr.linesBefore(se.Offset, &line)
				return &Error{File: s.file, Line: line, Document: s.index + 1, Msg: "malformed JSON: " + se.Error()}
			}
			if errors.Is(err, io.ErrUnexpectedEOF) {
				// The value starts after the blanks the decoder still holds.
				rest, _ := io.ReadAll(dec.Buffered())
				cr.linesBefore(dec.InputOffset()+int64(len(rest)-len(bytes.TrimLeft(rest, " \t\r\n"))), &line)
				return &Error{File: s.file, Line: line, Document: s.index + 1, Msg: "malformed JSON: the file ends inside the value starting here"}
			}
			return err
		}
		if int64(len(raw)) > s.maxDoc {
			return cr.overflow
		}
		cr.linesBefore(dec.InputOffset()-int64(len(raw)), &line)
		if err := s.flush(line, raw); err != nil {
			return err
		}
	}
}

func isSeparator(line []byte) bool {
	return bytes.Equal(line, []byte("---")) || bytes.HasPrefix(line, []byte("--- ")) || bytes.HasPrefix(line, []byte("---\t")) || bytes.Equal(line, []byte("..."))
}
