// Package msgconv turns frame metadata into event messages in DeepStream's
// schemas (nvmsgconv): the full JSON schema, one message per object or
// event, and the minimal JSON schema, one message per frame. Messages come
// from the objects themselves (observations, every frame-interval frames
// of a stream), from the analytics results (line crossings, ROI entries
// and exits, overcrowding starts and ends, as they happen) and from events
// that probes attach to frames (FrameMeta.User["events"]).
package msgconv

import (
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/vidflow/vidflow/media"
)

// PayloadType is DeepStream's payload-type.
type PayloadType int

// Payload types.
const (
	Full    PayloadType = 0 // the full JSON schema: one message per object or event
	Minimal PayloadType = 1 // the minimal JSON schema: one message per frame
)

// Message kinds: what a message is about.
const (
	KindObject = "object" // an object observed (full schema)
	KindFrame  = "frame"  // a frame's objects (minimal schema)
	KindEvent  = "event"  // an event: analytics or a probe's
)

// Message is one message for a broker.
type Message struct {
	// ID is unique (a UUID); it is also the payload's messageid, and
	// brokers that can carry it as a header do, for consumers to drop
	// duplicates.
	ID string
	// Sensor is the sensor id of the stream; Kind is KindObject,
	// KindFrame or KindEvent. NATS subjects are built from them.
	Sensor, Kind string
	// Source and Frame say which frame the message is about.
	Source int
	Frame  int64
	Time   time.Time
	// Payload is the JSON document.
	Payload []byte
}

// Options configure a Converter.
type Options struct {
	Config  *Config // nil: no sensor/place/module details
	Payload PayloadType
	// FrameInterval makes observations every n-th frame of a stream (frame
	// numbers divisible by n); events are sent as they happen. <= 0 is 30.
	FrameInterval int
	// ObjectsOff sends events only, no observations (DeepStream with
	// msg2p-newapi off: only what probes and analytics report).
	ObjectsOff bool
}

// Converter makes messages out of frames. It keeps per-stream state (for
// ROI entries and exits, overcrowding changes) and is not safe for
// concurrent use.
type Converter struct {
	opts    Options
	ids     *IDs
	streams map[int]*streamState
}

type streamState struct {
	objects map[int64]*objectState
	oc      map[string]bool
	frames  int64
}

type objectState struct {
	rois     []string
	lastSeen int64
}

// New returns a converter.
func New(opts Options) (*Converter, error) {
	switch opts.Payload {
	case Full, Minimal:
	case 2:
		return nil, fmt.Errorf("payload type 2 (protobuf) is not supported: use 0 (full JSON) or 1 (minimal JSON)")
	case 256:
		return nil, fmt.Errorf("payload type 256 (custom msg2p library) is not supported: add events from a probe instead")
	default:
		return nil, fmt.Errorf("payload type %d: want 0 (full JSON) or 1 (minimal JSON)", opts.Payload)
	}
	if opts.FrameInterval <= 0 {
		opts.FrameInterval = 30
	}
	if opts.Config == nil {
		opts.Config = &Config{}
	}
	return &Converter{opts: opts, ids: NewIDs(), streams: map[int]*streamState{}}, nil
}

// EndStream drops a stream's state.
func (c *Converter) EndStream(source int) { delete(c.streams, source) }

// IDs makes message ids: UUIDs (version 4 layout) of a random per-process
// prefix and a counter, unique across restarts without a random draw per
// message.
type IDs struct {
	prefix [10]byte
	n      atomic.Uint64
}

// NewIDs returns an id generator with a fresh random prefix.
func NewIDs() *IDs {
	g := &IDs{}
	if _, err := rand.Read(g.prefix[:]); err != nil {
		binary.LittleEndian.PutUint64(g.prefix[:], uint64(time.Now().UnixNano()))
	}
	return g
}

// Next returns a new id.
func (g *IDs) Next() string {
	var b [16]byte
	copy(b[:10], g.prefix[:])
	n := g.n.Add(1)
	b[10], b[11], b[12], b[13], b[14], b[15] = byte(n>>40), byte(n>>32), byte(n>>24), byte(n>>16), byte(n>>8), byte(n)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	var s [36]byte
	hex.Encode(s[0:8], b[0:4])
	s[8] = '-'
	hex.Encode(s[9:13], b[4:6])
	s[13] = '-'
	hex.Encode(s[14:18], b[6:8])
	s[18] = '-'
	hex.Encode(s[19:23], b[8:10])
	s[23] = '-'
	hex.Encode(s[24:], b[10:])
	return string(s[:])
}

// SensorID is the sensor id of a frame's stream: the converter config's
// [sensorN] id, else the frame's SensorID, else the stream number.
func (c *Converter) SensorID(fm *media.FrameMeta) string {
	if s := c.opts.Config.Sensors[fm.SourceID]; s != nil && s.ID != "" {
		return s.ID
	}
	if fm.SensorID != "" {
		return fm.SensorID
	}
	return strconv.Itoa(fm.SourceID)
}

// Convert appends the messages of one frame to dst.
func (c *Converter) Convert(fm *media.FrameMeta, dst []Message) ([]Message, error) {
	st := c.streams[fm.SourceID]
	if st == nil {
		st = &streamState{objects: map[int64]*objectState{}, oc: map[string]bool{}}
		c.streams[fm.SourceID] = st
	}
	st.frames++
	events := c.events(st, fm)
	observe := !c.opts.ObjectsOff && fm.FrameNumber%int64(c.opts.FrameInterval) == 0
	if len(events) == 0 && !observe {
		return dst, nil
	}
	ts := fm.NTPTimestamp
	if ts.IsZero() {
		ts = time.Now()
	}
	fc := &frameCtx{c: c, fm: fm, sensor: c.SensorID(fm), ts: ts, stamp: ts.UTC().Format("2006-01-02T15:04:05.000Z")}
	var err error
	if c.opts.Payload == Minimal {
		dst, err = fc.minimal(dst, events, observe)
	} else {
		dst, err = fc.full(dst, events, observe)
	}
	return dst, err
}

// events gathers a frame's events: the probes', then those the analytics
// results imply; duplicates (same type, object and details) collapse.
func (c *Converter) events(st *streamState, fm *media.FrameMeta) []media.Event {
	var out []media.Event
	seen := map[string]bool{}
	add := func(ev media.Event) {
		key := ev.Type + "\x00" + fmt.Sprintf("%p", ev.Object) + "\x00" + fmt.Sprint(ev.Info)
		if !seen[key] {
			seen[key] = true
			out = append(out, ev)
		}
	}
	if evs, ok := fm.User[media.UserEvents].([]media.Event); ok {
		for _, ev := range evs {
			if ev.Type == "" {
				ev.Type = "custom"
			}
			add(ev)
		}
	}
	for _, o := range fm.Objects {
		r, ok := o.User[media.AnalyticsKey].(*media.AnalyticsObjInfo)
		if !ok {
			continue
		}
		for _, l := range r.Lines {
			add(media.Event{Type: media.EventLineCrossing, Object: o, Info: map[string]any{"line": l}})
		}
		if o.TrackID < 0 {
			continue
		}
		os := st.objects[o.TrackID]
		if os == nil {
			os = &objectState{}
			st.objects[o.TrackID] = os
		}
		os.lastSeen = st.frames
		for _, roi := range r.ROIs {
			if !contains(os.rois, roi) {
				add(media.Event{Type: media.EventROIEntry, Object: o, Info: map[string]any{"roi": roi}})
			}
		}
		for _, roi := range os.rois {
			if !contains(r.ROIs, roi) {
				add(media.Event{Type: media.EventROIExit, Object: o, Info: map[string]any{"roi": roi}})
			}
		}
		os.rois = append(os.rois[:0], r.ROIs...)
	}
	if fr, ok := fm.User[media.AnalyticsKey].(*media.AnalyticsFrameMeta); ok {
		labels := make([]string, 0, len(fr.Overcrowding))
		for l := range fr.Overcrowding {
			labels = append(labels, l)
		}
		sort.Strings(labels)
		for _, l := range labels {
			on := fr.Overcrowding[l]
			if on != st.oc[l] {
				state := "end"
				if on {
					state = "start"
				}
				add(media.Event{Type: media.EventOvercrowding, Info: map[string]any{"roi": l, "state": state, "count": fr.OvercrowdingCount[l]}})
			}
			st.oc[l] = on
		}
	}
	if st.frames%64 == 0 {
		for id, os := range st.objects {
			if st.frames-os.lastSeen > 300 {
				delete(st.objects, id)
			}
		}
	}
	return out
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

type frameCtx struct {
	c      *Converter
	fm     *media.FrameMeta
	sensor string
	ts     time.Time
	stamp  string
}

func (fc *frameCtx) message(kind string, id string, v any, dst []Message) ([]Message, error) {
	data, err := json.Marshal(v)
	if err != nil {
		return dst, fmt.Errorf("stream %d frame %d: encoding a %s message: %w", fc.fm.SourceID, fc.fm.FrameNumber, kind, err)
	}
	return append(dst, Message{ID: id, Sensor: fc.sensor, Kind: kind, Source: fc.fm.SourceID, Frame: fc.fm.FrameNumber, Time: fc.ts, Payload: data}), nil
}

// The full schema.

type fullMsg struct {
	MessageID       string         `json:"messageid"`
	MDSVersion      string         `json:"mdsversion"`
	Timestamp       string         `json:"@timestamp"`
	Place           map[string]any `json:"place"`
	Sensor          sensorJSON     `json:"sensor"`
	AnalyticsModule moduleJSON     `json:"analyticsModule"`
	Object          map[string]any `json:"object,omitempty"`
	Event           map[string]any `json:"event"`
	VideoPath       string         `json:"videoPath"`
}

type sensorJSON struct {
	ID          string     `json:"id"`
	Type        string     `json:"type"`
	Description string     `json:"description"`
	Location    Location   `json:"location"`
	Coordinate  Coordinate `json:"coordinate"`
}

type moduleJSON struct {
	ID          string `json:"id"`
	Description string `json:"description"`
	Source      string `json:"source"`
	Version     string `json:"version"`
}

func (fc *frameCtx) full(dst []Message, events []media.Event, observe bool) ([]Message, error) {
	var err error
	withEvent := map[*media.ObjectMeta]bool{}
	for _, ev := range events {
		id := fc.c.ids.Next()
		e := map[string]any{"id": id, "type": ev.Type}
		for k, v := range ev.Info {
			if k != "id" && k != "type" {
				e[k] = v
			}
		}
		if ev.Object != nil {
			withEvent[ev.Object] = true
		}
		if dst, err = fc.message(KindEvent, id, fc.fullMsg(id, ev.Object, e), dst); err != nil {
			return dst, err
		}
	}
	if !observe {
		return dst, nil
	}
	seen := map[int64]bool{}
	for _, o := range fc.fm.Objects {
		// One message per object: an object that is in an event message
		// of this frame, or whose track id was already sent, is not
		// sent again.
		if withEvent[o] || (o.TrackID >= 0 && seen[o.TrackID]) {
			continue
		}
		if o.TrackID >= 0 {
			seen[o.TrackID] = true
		}
		id := fc.c.ids.Next()
		if dst, err = fc.message(KindObject, id, fc.fullMsg(id, o, map[string]any{"id": id, "type": "moving"}), dst); err != nil {
			return dst, err
		}
	}
	return dst, nil
}

func (fc *frameCtx) fullMsg(id string, o *media.ObjectMeta, event map[string]any) *fullMsg {
	cfg := fc.c.opts.Config
	m := &fullMsg{MessageID: id, MDSVersion: "1.0", Timestamp: fc.stamp, Event: event}
	sensorType := "Camera"
	if s := cfg.Sensors[fc.fm.SourceID]; s != nil {
		m.Sensor = sensorJSON{ID: fc.sensor, Type: s.Type, Description: s.Description, Location: s.Location, Coordinate: s.Coordinate}
	} else {
		m.Sensor = sensorJSON{ID: fc.sensor, Type: sensorType, Description: fc.fm.SensorName}
	}
	if mod := cfg.Modules[fc.fm.SourceID]; mod != nil {
		m.AnalyticsModule = moduleJSON{ID: mod.ID, Description: mod.Description, Source: mod.Source, Version: mod.Version}
	}
	m.Place = fc.place(o, event["type"])
	if o != nil {
		m.Object = objectJSON(o)
	}
	return m
}

// place is the place object; its sub-object depends on the object, as
// DeepStream's: an entrance (vehicles at entry/exit events), a parking
// spot (other vehicles) or an aisle (people and the rest).
func (fc *frameCtx) place(o *media.ObjectMeta, evType any) map[string]any {
	p := fc.c.opts.Config.Places[fc.fm.SourceID]
	if p == nil {
		p = &Place{}
	}
	m := map[string]any{"id": p.ID, "name": p.Name, "type": p.Type, "location": p.Location}
	sf := p.SubFields
	switch kind := objectKind(o); {
	case kind == "vehicle" && (evType == "entry" || evType == "exit"):
		m["entrance"] = map[string]any{"name": sf[0], "lane": sf[1], "level": sf[2], "coordinate": p.Coordinate}
	case kind == "vehicle":
		m["parkingSpot"] = map[string]any{"id": sf[0], "type": sf[1], "level": sf[2], "coordinate": p.Coordinate}
	default:
		m["aisle"] = map[string]any{"id": sf[0], "name": sf[1], "level": sf[2], "coordinate": p.Coordinate}
	}
	return m
}

var vehicleLabels = map[string]bool{"vehicle": true, "car": true, "truck": true, "bus": true, "motorcycle": true,
	"motorbike": true, "bicycle": true, "van": true}

func objectKind(o *media.ObjectMeta) string {
	if o == nil {
		return ""
	}
	if _, ok := o.User[media.VehicleKey].(*media.VehicleAttrs); ok {
		return "vehicle" // the application says so, as test4's objType
	}
	if _, ok := o.User[media.PersonKey].(*media.PersonAttrs); ok {
		return "person"
	}
	l := strings.ToLower(o.Label)
	switch {
	case l == "person" || l == "pedestrian" || l == "people":
		return "person"
	case vehicleLabels[l]:
		return "vehicle"
	case l == "face":
		return "face"
	}
	return l
}

func trackID(o *media.ObjectMeta) string {
	if o.TrackID < 0 {
		return "-1"
	}
	return strconv.FormatInt(o.TrackID, 10)
}

func objectJSON(o *media.ObjectMeta) map[string]any {
	r := o.Rect
	m := map[string]any{
		"id": trackID(o), "speed": 0.0, "direction": 0.0, "orientation": 0.0,
		"confidence": o.Confidence,
		"bbox": map[string]int{"topleftx": int(r.Left), "toplefty": int(r.Top),
			"bottomrightx": int(r.Right()), "bottomrighty": int(r.Bottom())},
		"location":   Location{},
		"coordinate": Coordinate{},
	}
	attrs := map[string]any{"confidence": o.Confidence}
	switch kind := objectKind(o); kind {
	case "person":
		p, _ := o.User[media.PersonKey].(*media.PersonAttrs)
		if p == nil {
			p = &media.PersonAttrs{}
		}
		attrs["gender"], attrs["hair"], attrs["cap"], attrs["apparel"], attrs["age"] = p.Gender, p.Hair, p.Cap, p.Apparel, p.Age
		m["person"] = attrs
	case "vehicle":
		v, _ := o.User[media.VehicleKey].(*media.VehicleAttrs)
		if v == nil {
			v = &media.VehicleAttrs{Type: strings.ToLower(o.Label)}
		}
		attrs["type"], attrs["make"], attrs["model"], attrs["color"] = v.Type, v.Make, v.Model, v.Color
		attrs["licenseState"], attrs["license"] = v.Region, v.License
		m["vehicle"] = attrs
	case "":
		m["object"] = attrs
	default:
		m[kind] = attrs
	}
	if len(o.Classifications) > 0 {
		cl := make([]map[string]any, len(o.Classifications))
		for i, c := range o.Classifications {
			cl[i] = map[string]any{"label": c.Label, "classId": c.ClassID, "confidence": c.Confidence, "componentId": c.ComponentID}
		}
		m["classifications"] = cl
	}
	if r, ok := o.User[media.AnalyticsKey].(*media.AnalyticsObjInfo); ok {
		a := map[string]any{}
		if len(r.ROIs) > 0 {
			a["roi"] = r.ROIs
		}
		if len(r.Overcrowding) > 0 {
			a["overcrowding"] = r.Overcrowding
		}
		if len(r.Lines) > 0 {
			a["lineCrossings"] = r.Lines
		}
		if r.Direction != "" {
			a["direction"] = r.Direction
		}
		if len(a) > 0 {
			m["analytics"] = a
		}
	}
	return m
}

// The minimal schema.

type minimalMsg struct {
	Version   string         `json:"version"`
	ID        string         `json:"id"`
	Timestamp string         `json:"@timestamp"`
	SensorID  string         `json:"sensorId"`
	Objects   []string       `json:"objects"`
	MessageID string         `json:"messageid"`
	Event     map[string]any `json:"event,omitempty"`
	Analytics map[string]any `json:"analytics,omitempty"`
}

// minimalObject is DeepStream's "id|left|top|right|bottom|label", with the
// secondary classifiers' labels after "|#|".
func minimalObject(o *media.ObjectMeta) string {
	r := o.Rect
	var b strings.Builder
	fmt.Fprintf(&b, "%s|%d|%d|%d|%d|%s", trackID(o), int(r.Left), int(r.Top), int(r.Right()), int(r.Bottom()), o.Label)
	if len(o.Classifications) > 0 {
		b.WriteString("|#")
		for _, c := range o.Classifications {
			b.WriteString("|" + c.Label)
		}
	}
	return b.String()
}

func (fc *frameCtx) minimal(dst []Message, events []media.Event, observe bool) ([]Message, error) {
	var err error
	frameID := strconv.FormatInt(fc.fm.FrameNumber, 10)
	for _, ev := range events {
		id := fc.c.ids.Next()
		e := map[string]any{"id": id, "type": ev.Type}
		for k, v := range ev.Info {
			if k != "id" && k != "type" {
				e[k] = v
			}
		}
		objs := []string{}
		if ev.Object != nil {
			objs = append(objs, minimalObject(ev.Object))
		}
		m := &minimalMsg{Version: "4.0", ID: frameID, Timestamp: fc.stamp, SensorID: fc.sensor, Objects: objs, MessageID: id, Event: e}
		if dst, err = fc.message(KindEvent, id, m, dst); err != nil {
			return dst, err
		}
	}
	if !observe {
		return dst, nil
	}
	id := fc.c.ids.Next()
	objs := make([]string, 0, len(fc.fm.Objects))
	seen := map[int64]bool{}
	for _, o := range fc.fm.Objects {
		if o.TrackID >= 0 {
			if seen[o.TrackID] {
				continue
			}
			seen[o.TrackID] = true
		}
		objs = append(objs, minimalObject(o))
	}
	m := &minimalMsg{Version: "4.0", ID: frameID, Timestamp: fc.stamp, SensorID: fc.sensor, Objects: objs, MessageID: id}
	if fr, ok := fc.fm.User[media.AnalyticsKey].(*media.AnalyticsFrameMeta); ok {
		a := map[string]any{}
		if len(fr.ObjInROI) > 0 {
			a["roi"] = fr.ObjInROI
		}
		if len(fr.Overcrowding) > 0 {
			a["overcrowding"] = fr.Overcrowding
		}
		if len(fr.LineCumulative) > 0 {
			a["lineCumulative"] = fr.LineCumulative
			a["lineCurrent"] = fr.LineCurrent
		}
		if len(a) > 0 {
			m.Analytics = a
		}
	}
	return fc.message(KindFrame, id, m, dst)
}
