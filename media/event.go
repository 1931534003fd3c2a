package media

// Event types of the analytics. DeepStream's own types (entry, exit,
// moving, stopped, empty, parked, reset, custom) are what probes usually
// use; any string is accepted.
const (
	EventLineCrossing = "line-crossing" // Info: line
	EventROIEntry     = "roi-entry"     // Info: roi
	EventROIExit      = "roi-exit"      // Info: roi
	EventOvercrowding = "overcrowding"  // Info: roi, state ("start" or "end"), count
)

// UserEvents is the FrameMeta.User key under which probes put the events
// (a []Event) that Publish sends.
const UserEvents = "events"

// Event is something to tell the consumers about (Publish sends it as
// soon as its frame reaches the broker sink), DeepStream's
// NvDsEventMsgMeta: a type, the object it is about (if any), and extra
// fields for the message's "event" part.
type Event struct {
	Type   string
	Object *ObjectMeta
	Info   map[string]any
}

// AddEvent attaches an event to a frame for Publish to send.
func AddEvent(fm *FrameMeta, ev Event) {
	if fm.User == nil {
		fm.User = map[string]any{}
	}
	evs, _ := fm.User[UserEvents].([]Event)
	fm.User[UserEvents] = append(evs, ev)
}
