package element

import "github.com/vidflow/vidflow/media"

// State is a pipeline's or element's state, as GStreamer names them.
type State int

// States.
const (
	StateInvalid State = iota
	StateEmpty         // GStreamer's NULL
	StateReady
	StatePaused
	StatePlaying
)

func (s State) String() string {
	return [...]string{"INVALID", "EMPTY", "READY", "PAUSED", "PLAYING"}[s]
}

// Message is something the pipeline tells the application: one of
// *EOSMessage, *StreamEOSMessage, *ErrorMessage, *WarningMessage, *InfoMessage,
// *StateMessage, *StreamMessage.
type Message interface{ message() }

// EOSMessage says the pipeline reached its end: every stream ended.
type EOSMessage struct{}

// StreamEOSMessage says one stream of a batch ended.
type StreamEOSMessage struct {
	Element  string // the batcher that saw it
	SourceID int
}

// ErrorMessage carries the error that stops the pipeline.
type ErrorMessage struct {
	Element string
	Err     error
}

// WarningMessage is a problem that does not stop the pipeline.
type WarningMessage struct {
	Element string
	Text    string
}

// InfoMessage reports a choice an element made at start (the decoder,
// the execution provider, the device), for logs.
type InfoMessage struct {
	Element string
	Text    string
}

// StateMessage says an element (or the pipeline, Origin = its name) changed state.
type StateMessage struct {
	Origin   string
	Old, New State
}

// StreamMessage says a stream was added to or removed from a batch, the
// twin of DeepStream's DynamicSourceMessage.
type StreamMessage struct {
	Added                bool
	SourceID             int
	SensorID, SensorName string
	URI                  string
}

func (*EOSMessage) message()       {}
func (*StreamEOSMessage) message() {}
func (*ErrorMessage) message()     {}
func (*WarningMessage) message()   {}
func (*InfoMessage) message()      {}
func (*StateMessage) message()     {}
func (*StreamMessage) message()    {}

// Event is what an Item carries besides buffers.
type Event int

// Events.
const (
	EventNone      Event = iota
	EventStreamEOS       // one stream of a batch ended (Item.Source)
	EventEOS             // the end: nothing follows on this link
)

// Item is what flows on a link: a buffer (Buf set, Event None) or an event.
type Item struct {
	Buf    *media.Buffer
	Event  Event
	Source int
}
