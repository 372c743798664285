package snapshot

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
)

// listItem is the text of one item of a List: bytes [start, end) of the
// document; in YAML, indented by indent columns (its first line's dash
// included).
type listItem struct {
	start, end int
	indent     int
	json       bool
}

// listItems splits a List document into its items without parsing the whole
// of it (see yamlListItems and jsonListItems). Splitting a large List takes
// a second or so: it stops, not ok, once ctx is done, at the next item.
func listItems(ctx context.Context, doc []byte) ([]listItem, bool) {
	if trimmed := bytes.TrimLeft(doc, " \t\r\n"); len(trimmed) > 0 && trimmed[0] == '{' {
		return jsonListItems(ctx, doc)
	}
	return yamlListItems(ctx, doc)
}

// jsonListItems finds the items of a List written as one JSON object, as
// kubectl get -o json writes it. ok is false for anything else, and for a
// repeated top-level key, which the full parse reports.
func jsonListItems(ctx context.Context, doc []byte) (items []listItem, ok bool) {
	if !bytes.Contains(doc, []byte(`"items"`)) {
		return nil, false
	}
	dec := json.NewDecoder(bytes.NewReader(doc))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil, false
	}
	seen := map[string]bool{}
	var kind string
	for dec.More() {
		t, err := dec.Token()
		key, isKey := t.(string)
		if err != nil || !isKey || seen[key] {
			return nil, false
		}
		seen[key] = true
		switch key {
		case "kind":
			if err := dec.Decode(&kind); err != nil {
				return nil, false
			}
		case "items":
			if t, err := dec.Token(); err != nil || t != json.Delim('[') {
				return nil, false
			}
			for dec.More() {
				if ctx.Err() != nil {
					return nil, false
				}
				start := dec.InputOffset()
				var skip json.RawMessage
				if err := dec.Decode(&skip); err != nil {
					return nil, false
				}
				items = append(items, listItem{start: int(start), end: int(dec.InputOffset()), json: true})
			}
			if _, err := dec.Token(); err != nil {
				return nil, false
			}
		default:
			var skip json.RawMessage
			if err := dec.Decode(&skip); err != nil {
				return nil, false
			}
		}
	}
	if _, err := dec.Token(); err != nil || dec.More() {
		return nil, false
	}
	if !strings.HasSuffix(kind, "List") || !seen["apiVersion"] || len(items) == 0 {
		return nil, false
	}
	return items, true
}

// mayHaveAnchors reports whether the YAML may hold an anchor or an alias,
// which may tie one item to another: a '&' or '*' that starts a node (at the
// start of a line or after an indicator, spaces between). It errs on the side
// of yes.
func mayHaveAnchors(doc []byte) bool {
	for i := bytes.IndexAny(doc, "&*"); i >= 0; {
		j := i - 1
		for j >= 0 && doc[j] == ' ' {
			j--
		}
		if j < 0 || bytes.IndexByte([]byte("\n:-,[{?"), doc[j]) >= 0 {
			return true
		}
		next := bytes.IndexAny(doc[i+1:], "&*")
		if next < 0 {
			return false
		}
		i += 1 + next
	}
	return false
}

// yamlListItems splits a List written in YAML block style, as kubectl writes
// it (a top-level "items:" followed by "- " entries), into its items, without
// parsing the whole document: a large List then costs memory in proportion to
// its text and one item, not to a tree of the whole. ok is false for any
// other layout (flow style, anchors, tabs, repeated top-level keys, ...),
// which the full parse reads and reports on.
func yamlListItems(ctx context.Context, doc []byte) (items []listItem, ok bool) {
	if !bytes.HasPrefix(doc, []byte("items:")) && !bytes.Contains(doc, []byte("\nitems:")) {
		return nil, false
	}
	var (
		seen    = map[string]bool{}
		kind    string
		inItems bool
		dashCol = -1
		current = -1
	)
	for pos := 0; pos < len(doc); {
		end := bytes.IndexByte(doc[pos:], '\n')
		next := len(doc)
		if end >= 0 {
			end += pos
			next = end + 1
		} else {
			end = len(doc)
		}
		line := doc[pos:end]
		trimmed := bytes.TrimLeft(line, " ")
		col := len(line) - len(trimmed)
		switch {
		case bytes.HasPrefix(trimmed, []byte("\t")):
			return nil, false
		case len(bytes.TrimSpace(trimmed)) == 0 || trimmed[0] == '#':
			// Blank lines and comments belong to whatever surrounds them.
		case col == 0 && trimmed[0] != '-':
			key, value, found := plainKey(line)
			if !found {
				return nil, false
			}
			k := string(key)
			if seen[k] {
				return nil, false
			}
			seen[k] = true
			value = bytes.TrimSpace(value)
			inItems = k == "items"
			if inItems && len(value) > 0 {
				return nil, false
			}
			if k == "kind" {
				kind = string(value)
			}
			if current >= 0 {
				items[current].end = pos
				current = -1
			}
		case !inItems:
			// The children of another top-level key.
		case trimmed[0] == '-' && (len(trimmed) == 1 || trimmed[1] == ' ') && (dashCol == -1 || col == dashCol):
			if ctx.Err() != nil {
				return nil, false
			}
			// An item read on its own must mean what it means in the List:
			// a mapping whose first key follows the dash does (its lines
			// keep their columns relative to that key); a scalar, a nested
			// sequence or a bare dash may not (a plain scalar's next lines,
			// for one, may sit at columns the List forbids).
			if _, _, found := plainKey(trimmed[min(2, len(trimmed)):]); !found {
				return nil, false
			}
			dashCol = col
			if current >= 0 {
				items[current].end = pos
			}
			items = append(items, listItem{start: pos, indent: col + 2})
			current = len(items) - 1
		case current >= 0 && col >= dashCol+2:
			// A line of the current item: removing its indentation keeps
			// it where it was relative to the item's first line.
		default:
			return nil, false
		}
		pos = next
	}
	if current >= 0 {
		items[current].end = len(doc)
	}
	if !strings.HasSuffix(kind, "List") || !seen["apiVersion"] || len(items) == 0 || mayHaveAnchors(doc) {
		return nil, false
	}
	return items, true
}

// plainKey cuts a line that starts a block mapping entry with a plain,
// one-word key ("key: value" or "key:") into its key and value; found is false
// for anything else (quoted or flow keys, tags, anchors, "key:value", ...).
func plainKey(line []byte) (key, value []byte, found bool) {
	key, value, found = bytes.Cut(line, []byte(":"))
	if !found || len(key) == 0 || bytes.ContainsAny(key, " \t\"'{}[]&*!|>%@`#,?") || (len(value) > 0 && value[0] != ' ') {
		return nil, nil, false
	}
	return key, value, true
}

// text is the item's YAML, its indentation removed: the dash of its first
// line becomes a space, so that every line keeps its place.
func (it listItem) text(doc []byte) []byte {
	src := doc[it.start:it.end]
	if it.json {
		// The offset before an item may be that of the comma before it.
		return bytes.TrimLeft(src, " \t\r\n,")
	}
	out := make([]byte, 0, len(src))
	first := true
	for len(src) > 0 {
		line := src
		if i := bytes.IndexByte(src, '\n'); i >= 0 {
			line, src = src[:i+1], src[i+1:]
		} else {
			src = nil
		}
		if first {
			// "- key: v" at the dash's column: drop the dash and its space.
			first = false
			if len(line) >= it.indent {
				out = append(out, line[it.indent:]...)
			} else {
				out = append(out, '\n')
			}
			continue
		}
		n := 0
		for n < len(line) && n < it.indent && line[n] == ' ' {
			n++
		}
		out = append(out, line[n:]...)
	}
	return out
}

// shell is the List without its items (an empty or null items field), which
// must parse too: the split reads everything or leaves it to the full parse.
func shell(doc []byte, items []listItem) []byte {
	out := append([]byte(nil), doc[:items[0].start]...)
	return append(out, doc[items[len(items)-1].end:]...)
}
