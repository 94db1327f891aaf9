package main

// maxJSONDepth is encoding/json's bound on nesting: deeper is invalid.
const maxJSONDepth = 10000

// validJSON reports whether data is one JSON value, as json.Valid does
// (RFC 8259, white space around it, at most maxJSONDepth levels deep,
// bytes of strings not checked as UTF-8), in one pass without a state
// function per byte: json.Valid was half the cost of decoding a dump once
// goccy/go-json did the decoding. FuzzValidJSON holds it to json.Valid.
func validJSON(data []byte) bool {
	var objects [maxJSONDepth/64 + 1]uint64 // bit d: level d is an object
	depth := 0
	i := skipJSONSpace(data, 0)
	for {
		// A value starts at i.
		if i >= len(data) {
			return false
		}
		switch c := data[i]; c {
		case '{', '[':
			if depth == maxJSONDepth {
				return false
			}
			i = skipJSONSpace(data, i+1)
			if c == '{' {
				objects[depth/64] |= 1 << (depth % 64)
			} else {
				objects[depth/64] &^= 1 << (depth % 64)
			}
			depth++
			if i < len(data) && (c == '{' && data[i] == '}' || c == '[' && data[i] == ']') {
				depth--
				i++
				break
			}
			if c == '{' {
				if i = jsonKey(data, i); i < 0 {
					return false
				}
			}
			continue
		case '"':
			if i = jsonString(data, i); i < 0 {
				return false
			}
		case 't':
			if i = jsonLiteral(data, i, "true"); i < 0 {
				return false
			}
		case 'f':
			if i = jsonLiteral(data, i, "false"); i < 0 {
				return false
			}
		case 'n':
			if i = jsonLiteral(data, i, "null"); i < 0 {
				return false
			}
		default:
			if i = jsonNumber(data, i); i < 0 {
				return false
			}
		}
		// A value ended at i: close what it ends, then find the next.
		for {
			i = skipJSONSpace(data, i)
			if depth == 0 {
				return i == len(data)
			}
			if i >= len(data) {
				return false
			}
			object := objects[(depth-1)/64]&(1<<((depth-1)%64)) != 0
			if c := data[i]; c == ',' {
				i = skipJSONSpace(data, i+1)
				if object {
					if i = jsonKey(data, i); i < 0 {
						return false
					}
				}
				break
			} else if object && c == '}' || !object && c == ']' {
				depth--
				i++
				continue
			}
			return false
		}
	}
}

func skipJSONSpace(data []byte, i int) int {
	for i < len(data) && (data[i] == ' ' || data[i] == '\n' || data[i] == '\t' || data[i] == '\r') {
		i++
	}
	return i
}

// jsonKey reads `"key" :` and the space after it, returning where the
// value starts, or -1.
func jsonKey(data []byte, i int) int {
	if i >= len(data) || data[i] != '"' {
		return -1
	}
	if i = jsonString(data, i); i < 0 {
		return -1
	}
	i = skipJSONSpace(data, i)
	if i >= len(data) || data[i] != ':' {
		return -1
	}
	return skipJSONSpace(data, i+1)
}

// jsonString reads the string that starts at i, returning where it
// ends, or -1.
func jsonString(data []byte, i int) int {
	for i++; i < len(data); i++ {
		switch c := data[i]; {
		case c == '"':
			return i + 1
		case c < 0x20:
			return -1
		case c == '\\':
			i++
			if i >= len(data) {
				return -1
			}
			switch data[i] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			case 'u':
				if i+4 >= len(data) {
					return -1
				}
				for _, h := range data[i+1 : i+5] {
					if !('0' <= h && h <= '9' || 'a' <= h && h <= 'f' || 'A' <= h && h <= 'F') {
						return -1
					}
				}
				i += 4
			default:
				return -1
			}
		}
	}
	return -1
}

func jsonLiteral(data []byte, i int, lit string) int {
	if len(data)-i < len(lit) || string(data[i:i+len(lit)]) != lit {
		return -1
	}
	return i + len(lit)
}

// jsonNumber reads -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? at i,
// returning where it ends, or -1.
func jsonNumber(data []byte, i int) int {
	if data[i] == '-' {
		i++
	}
	switch {
	case i < len(data) && data[i] == '0':
		i++
	case i < len(data) && '1' <= data[i] && data[i] <= '9':
		i = jsonDigits(data, i)
	default:
		return -1
	}
	if i < len(data) && data[i] == '.' {
		if i++; i >= len(data) || !isDigit(data[i]) {
			return -1
		}
		i = jsonDigits(data, i)
	}
	if i < len(data) && (data[i] == 'e' || data[i] == 'E') {
		if i++; i < len(data) && (data[i] == '+' || data[i] == '-') {
			i++
		}
		if i >= len(data) || !isDigit(data[i]) {
			return -1
		}
		i = jsonDigits(data, i)
	}
	return i
}

func jsonDigits(data []byte, i int) int {
	for i < len(data) && isDigit(data[i]) {
		i++
	}
	return i
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }
