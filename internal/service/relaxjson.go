package service

// relaxJSON makes what DeepStream's JSON parser (jsoncpp's CharReader
// with its default settings) accepts beyond strict JSON into JSON:
// comments (// and /* */), trailing commas before } or ], and a leading
// byte-order mark. Each is replaced by spaces, so that the body keeps
// its length and byte offsets in errors stay true. Everything else is
// left for encoding/json to check, as before.
func relaxJSON(b []byte) []byte {
	out := append([]byte(nil), b...)
	if len(out) >= 3 && out[0] == 0xEF && out[1] == 0xBB && out[2] == 0xBF {
		out[0], out[1], out[2] = ' ', ' ', ' '
	}
	blankComments(out)
	// A comma is trailing when the next character that is not white
	// space (comments are spaces by now) closes an object or an array,
	// and a value comes before it ("{,}" and "[1,,]" stay wrong, as for
	// jsoncpp).
	inStr, esc := false, false
	var prev byte // the last character outside strings that is not white space
	for i := 0; i < len(out); i++ {
		c := out[i]
		switch {
		case inStr:
			inStr, esc = stringState(c, esc)
			if !inStr {
				prev = '"'
			}
			continue
		case c == '"':
			inStr = true
			continue
		case c == ',' && prev != '{' && prev != '[' && prev != ',':
			j := i + 1
			for j < len(out) && isSpace(out[j]) {
				j++
			}
			if j < len(out) && (out[j] == '}' || out[j] == ']') {
				out[i] = ' '
				continue
			}
		}
		if !isSpace(c) {
			prev = c
		}
	}
	return out
}

// blankComments replaces comments outside strings with spaces (keeping
// newlines); an unterminated /* blanks to the end, which then fails as
// JSON.
func blankComments(out []byte) {
	inStr, esc := false, false
	for i := 0; i < len(out); i++ {
		c := out[i]
		if inStr {
			inStr, esc = stringState(c, esc)
			continue
		}
		if c == '"' {
			inStr = true
			continue
		}
		if c != '/' || i+1 >= len(out) || (out[i+1] != '/' && out[i+1] != '*') {
			continue
		}
		block := out[i+1] == '*'
		j := i + 2
		for ; j < len(out); j++ {
			if !block && (out[j] == '\n' || out[j] == '\r') {
				break
			}
			if block && out[j] == '*' && j+1 < len(out) && out[j+1] == '/' {
				j += 2
				break
			}
		}
		for k := i; k < j && k < len(out); k++ {
			if out[k] != '\n' && out[k] != '\r' {
				out[k] = ' '
			}
		}
		i = j - 1
	}
}

// stringState steps through a JSON string: whether it goes on after c,
// and whether the next character is escaped.
func stringState(c byte, esc bool) (inStr, nextEsc bool) {
	switch {
	case esc:
		return true, false
	case c == '\\':
		return true, true
	case c == '"':
		return false, false
	}
	return true, false
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }
