package track

import "sort"

// KeyDoc is one tracker YAML key for the compatibility table
// (docs/deepstream.md): Effect false is accepted with no effect.
type KeyDoc struct {
	Section, Key string
	Effect       bool
}

// KeyDocs lists the keys of the sections vidflow reads, and the sections
// it accepts whole with no effect (Key ""), sorted.
func KeyDocs() []KeyDoc {
	var out []KeyDoc
	for s, keys := range sections {
		for k, v := range keys {
			out = append(out, KeyDoc{Section: s, Key: k, Effect: v.set != nil})
		}
	}
	for s := range ignoredSections {
		out = append(out, KeyDoc{Section: s})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Section != out[j].Section {
			return out[i].Section < out[j].Section
		}
		return out[i].Key < out[j].Key
	})
	return out
}
