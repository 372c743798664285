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

// ctxCheckShift makes the YAML split look at its context once per 1 MiB read.
const ctxCheckShift = 20

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
					// Not doc.Grow: it zeroes the new space in one call that
					// cannot be preempted, which on a 200 MB document held a
					// core for seconds (Ctrl-C waited); make's memory is
					// zeroed in preemptible chunks, or not at all when fresh.
					grownDoc := bytes.NewBuffer(make([]byte, 0, doc.Len()+int(left)))
					grownDoc.Write(doc.Bytes())
					doc = grownDoc
				}
			}
			if consumed>>ctxCheckShift != (consumed+int64(len(chunk)))>>ctxCheckShift {
				// One document can be hundreds of megabytes: Ctrl-C is not
				// left waiting for its end.
				if err := s.ctx.Err(); err != nil {
					return err
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

// splitJSON reads a stream of JSON values (JSON lines, concatenated JSON);
// leadLines newlines came before it. Each value is found by a scan of its
// brackets and strings and read into a buffer of its own, grown once for a
// large one, so that memory follows the largest value (a json.Decoder would
// hold it twice: its buffer and the copy it returns). The value is then
// checked as JSON, and the decoder runs only to describe an error.
func (s *splitter) splitJSON(leadLines int, br *bufio.Reader) error {
	line := leadLines + 1
	var consumed int64
	for {
		b, err := br.ReadByte()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		consumed++
		switch b {
		case '\n':
			line++
			continue
		case ' ', '\t', '\r':
			continue
		}
		_ = br.UnreadByte()
		consumed--
		value, complete, err := s.readJSONValue(br, line, &consumed)
		if err != nil {
			return err
		}
		if !complete {
			return &Error{File: s.file, Line: line, Document: s.index + 1, Msg: "malformed JSON: the file ends inside the value starting here"}
		}
		if !json.Valid(value) {
			return s.jsonError(value, line)
		}
		if err := s.flush(line, value); err != nil {
			return err
		}
		line += bytes.Count(value, []byte("\n"))
	}
}

// jsonError describes what is wrong with a value that is not valid JSON, at
// its line (the value starts at line).
func (s *splitter) jsonError(value []byte, line int) error {
	err := json.NewDecoder(bytes.NewReader(value)).Decode(new(json.RawMessage))
	var se *json.SyntaxError
	switch {
	case errors.As(err, &se):
		line += bytes.Count(value[:min(int(se.Offset), len(value))], []byte("\n"))
		return &Error{File: s.file, Line: line, Document: s.index + 1, Msg: "malformed JSON: " + se.Error()}
	case err == nil:
		// One valid value and more after it on the same scan: what follows is
		// not the start of a value.
		return &Error{File: s.file, Line: line, Document: s.index + 1, Msg: "malformed JSON: unexpected characters after the value starting here"}
	case !bytes.ContainsAny(value[:1], `{["`):
		// A number or literal cut short by what follows it.
		return &Error{File: s.file, Line: line, Document: s.index + 1, Msg: fmt.Sprintf("malformed JSON: %q is not a JSON value (an object, array, string, number, true, false or null)", value)}
	}
	return &Error{File: s.file, Line: line, Document: s.index + 1, Msg: "malformed JSON: the file ends inside the value starting here"}
}

// jsonScan is where a scan of one JSON value stands.
type jsonScan struct {
	depth            int
	scalar, inString bool
	escaped, started bool
}

// end returns the length of the value's bytes in chunk, and whether the
// value ends there: an object or array at its closing bracket, a string at
// its closing quote, a number or literal before the first byte that cannot
// belong to it. A stray closing bracket or comma is a value of one byte,
// which the JSON check then refuses.
func (j *jsonScan) end(chunk []byte) (int, bool) {
	for i, c := range chunk {
		if !j.started {
			j.started = true
			switch c {
			case '{', '[':
				j.depth = 1
			case '"':
				j.inString = true
			case '}', ']', ',', ':':
				return 1, true
			default:
				j.scalar = true
			}
			continue
		}
		switch {
		case j.scalar:
			switch c {
			case ' ', '\t', '\r', '\n', '{', '}', '[', ']', ',', ':', '"':
				return i, true
			}
		case j.inString:
			switch {
			case j.escaped:
				j.escaped = false
			case c == '\\':
				j.escaped = true
			case c == '"':
				j.inString = false
				if j.depth == 0 {
					return i + 1, true
				}
			}
		default:
			switch c {
			case '"':
				j.inString = true
			case '{', '[':
				j.depth++
			case '}', ']':
				if j.depth--; j.depth == 0 {
					return i + 1, true
				}
			}
		}
	}
	return len(chunk), false
}

// readJSONValue reads the JSON value at the reader's position (not checked
// yet); complete is false when the stream ends inside it (a number or literal
// ends with the stream).
func (s *splitter) readJSONValue(br *bufio.Reader, line int, consumed *int64) (value []byte, complete bool, err error) {
	var scan jsonScan
	grown := false
	for {
		// A very large value takes a while to read: Ctrl-C stops it.
		if err := s.ctx.Err(); err != nil {
			return nil, false, err
		}
		if br.Buffered() == 0 {
			if _, err := br.Peek(1); err == io.EOF {
				return value, scan.scalar, nil
			} else if err != nil {
				return nil, false, err
			}
		}
		chunk, _ := br.Peek(br.Buffered())
		n, done := scan.end(chunk)
		if !grown && s.size > 0 && len(value)+n > largeDocument {
			grown = true
			if left := min(s.size-*consumed+int64(len(value)), s.maxDoc+1, math.MaxInt32); left > int64(cap(value)) {
				value = append(make([]byte, 0, left), value...)
			}
		}
		value = append(value, chunk[:n]...)
		_, _ = br.Discard(n)
		*consumed += int64(n)
		if int64(len(value)) > s.maxDoc {
			return nil, false, &LimitError{File: s.file, Line: line, Limit: s.maxDoc, Document: true}
		}
		if done {
			return value, true, nil
		}
	}
}

func isSeparator(line []byte) bool {
	return bytes.Equal(line, []byte("---")) || bytes.HasPrefix(line, []byte("--- ")) || bytes.HasPrefix(line, []byte("---\t")) || bytes.Equal(line, []byte("..."))
}
