package bench

import (
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/vidflow/vidflow/element"
)

// messageLog prints a run's info and warning messages with -v: the infer
// element's choices and its end-of-run timing say where a batch's time
// went. Capture sources say the same thing once each, so only the first
// few of theirs are printed (150 identical decoder lines say nothing more).
type messageLog struct {
	mu      sync.Mutex
	out     io.Writer
	sources int // capture-source lines printed
}

const sourceLines = 3

func (l *messageLog) print(m element.Message) {
	var el, kind, text string
	switch m := m.(type) {
	case *element.InfoMessage:
		el, kind, text = m.Element, "info", m.Text
	case *element.WarningMessage:
		el, kind, text = m.Element, "warning", m.Text
	default:
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if strings.HasPrefix(el, "capture-") {
		if l.sources++; l.sources > sourceLines {
			return
		}
	}
	fmt.Fprintf(l.out, "  %s %s: %s\n", kind, el, text)
}
