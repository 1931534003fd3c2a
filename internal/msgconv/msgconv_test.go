package msgconv

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/vidflow/vidflow/media"
)

const convCfg = `[sensor0]
enable=1
type=Camera
id=CAMERA_ID
location=45.293701447;-75.8303914499;48.1557479338
description=Entrance of Garage Right Lane
coordinate=5.2;10.1;11.2

[place0]
enable=1
id=1
type=intersection/road
name=endeavor
location=30.32;-40.55;100.0
coordinate=1.0;2.0;3.0
place-sub-field1=C_127_158
place-sub-field2=Lane 1
place-sub-field3=P1

[analytics0]
enable=1
id=XYZ_1
description=Vehicle Detection and License Plate Recognition
source=OpenALR
version=1.0
`

func testFrame(n int64, objs ...*media.ObjectMeta) *media.FrameMeta {
	return &media.FrameMeta{SourceID: 0, FrameNumber: n, NTPTimestamp: time.Date(2024, 5, 1, 12, 0, 0, int(n)*1e6, time.UTC), Objects: objs}
}

func decode(t *testing.T, m Message) map[string]any {
	t.Helper()
	var v map[string]any
	if err := json.Unmarshal(m.Payload, &v); err != nil {
		t.Fatalf("payload %s: %v", m.Payload, err)
	}
	return v
}

func TestFullSchema(t *testing.T) {
	cfg, err := ParseConfig("msgconv.txt", []byte(convCfg))
	if err != nil {
		t.Fatal(err)
	}
	c, err := New(Options{Config: cfg, FrameInterval: 2})
	if err != nil {
		t.Fatal(err)
	}
	car := &media.ObjectMeta{ClassID: 0, Label: "car", Confidence: 0.8, TrackID: 7, Rect: media.Rect{Left: 10, Top: 20, Width: 30, Height: 40}}
	person := &media.ObjectMeta{ClassID: 2, Label: "person", Confidence: 0.6, TrackID: 8, Rect: media.Rect{Left: 1, Top: 2, Width: 3, Height: 4}}
	dup := &media.ObjectMeta{ClassID: 0, Label: "car", TrackID: 7} // the same track twice on a frame: sent once
	msgs, err := c.Convert(testFrame(0, car, person, dup), nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 2 {
		t.Fatalf("%d messages, want 2", len(msgs))
	}
	m := decode(t, msgs[0])
	if m["messageid"] != msgs[0].ID || msgs[0].Kind != KindObject || msgs[0].Sensor != "CAMERA_ID" {
		t.Errorf("message %+v", msgs[0])
	}
	if m["@timestamp"] != "2024-05-01T12:00:00.000Z" || m["mdsversion"] != "1.0" {
		t.Errorf("header %v", m)
	}
	sensor := m["sensor"].(map[string]any)
	if sensor["id"] != "CAMERA_ID" || sensor["description"] != "Entrance of Garage Right Lane" ||
		sensor["location"].(map[string]any)["lat"] != 45.293701447 || sensor["coordinate"].(map[string]any)["z"] != 11.2 {
		t.Errorf("sensor %v", sensor)
	}
	place := m["place"].(map[string]any)
	if place["name"] != "endeavor" || place["parkingSpot"].(map[string]any)["id"] != "C_127_158" {
		t.Errorf("place %v", place)
	}
	if m["analyticsModule"].(map[string]any)["source"] != "OpenALR" {
		t.Errorf("module %v", m["analyticsModule"])
	}
	obj := m["object"].(map[string]any)
	bbox := obj["bbox"].(map[string]any)
	if obj["id"] != "7" || obj["vehicle"].(map[string]any)["type"] != "car" || bbox["bottomrightx"] != 40.0 || bbox["bottomrighty"] != 60.0 {
		t.Errorf("object %v", obj)
	}
	if ev := m["event"].(map[string]any); ev["type"] != "moving" || ev["id"] != msgs[0].ID {
		t.Errorf("event %v", ev)
	}
	p := decode(t, msgs[1])
	if _, ok := p["object"].(map[string]any)["person"]; !ok || p["place"].(map[string]any)["aisle"] == nil {
		t.Errorf("person message %v", p)
	}
	// Frame 1 is not on the interval: nothing; frame 2 is.
	if msgs, _ := c.Convert(testFrame(1, car), nil); len(msgs) != 0 {
		t.Errorf("frame 1: %d messages", len(msgs))
	}
	if msgs, _ := c.Convert(testFrame(2, car), nil); len(msgs) != 1 {
		t.Errorf("frame 2: %d messages", len(msgs))
	}
	ids := map[string]bool{}
	for i := 0; i < 1000; i++ {
		id := c.ids.Next()
		if ids[id] || len(id) != 36 || id[14] != '4' {
			t.Fatalf("id %q repeated or malformed", id)
		}
		ids[id] = true
	}
}

func TestAnalyticsAndUserEvents(t *testing.T) {
	c, _ := New(Options{FrameInterval: 1000})
	o := &media.ObjectMeta{Label: "person", TrackID: 3, User: map[string]any{}}
	step := func(n int64, rois, lines []string, oc bool) []Message {
		o.User[media.AnalyticsKey] = &media.AnalyticsObjInfo{ROIs: rois, Lines: lines}
		fm := testFrame(n, o)
		fm.User = map[string]any{media.AnalyticsKey: &media.AnalyticsFrameMeta{Overcrowding: map[string]bool{"OC": oc}, OvercrowdingCount: map[string]int{"OC": 4}}}
		msgs, err := c.Convert(fm, nil)
		if err != nil {
			t.Fatal(err)
		}
		return msgs
	}
	types := func(msgs []Message) string {
		var s []string
		for _, m := range msgs {
			ev := decode(t, m)["event"].(map[string]any)
			s = append(s, ev["type"].(string)+":"+strings.Trim(strings.Join([]string{str(ev["roi"]), str(ev["line"]), str(ev["state"])}, ""), ""))
		}
		return strings.Join(s, ",")
	}
	// Frame 0 is on the interval, so the object is reported too... unless
	// it already is in an event message of the frame.
	if got := types(step(1, []string{"A"}, nil, false)); got != "roi-entry:A" {
		t.Errorf("entry: %q", got)
	}
	if got := types(step(2, []string{"A"}, []string{"L"}, true)); got != "line-crossing:L,overcrowding:OCstart" {
		t.Errorf("crossing: %q", got)
	}
	if got := types(step(3, nil, nil, true)); got != "roi-exit:A" {
		t.Errorf("exit: %q", got)
	}
	if got := types(step(4, nil, nil, false)); got != "overcrowding:OCend" {
		t.Errorf("oc end: %q", got)
	}
	// A probe's events, the duplicate collapsed.
	fm := testFrame(5, o)
	media.AddEvent(fm, media.Event{Type: "entry", Object: o, Info: map[string]any{"gate": 2}})
	media.AddEvent(fm, media.Event{Type: "entry", Object: o, Info: map[string]any{"gate": 2}})
	media.AddEvent(fm, media.Event{Info: map[string]any{"note": "hello"}})
	msgs, _ := c.Convert(fm, nil)
	if len(msgs) != 2 || msgs[0].Kind != KindEvent {
		t.Fatalf("%d messages", len(msgs))
	}
	ev := decode(t, msgs[0])["event"].(map[string]any)
	if ev["type"] != "entry" || ev["gate"] != 2.0 {
		t.Errorf("event %v", ev)
	}
	if ev := decode(t, msgs[1])["event"].(map[string]any); ev["type"] != "custom" || ev["note"] != "hello" {
		t.Errorf("custom event %v", ev)
	}
	// Events only (msg2p-newapi off): no observations on interval frames.
	c2, _ := New(Options{FrameInterval: 1, ObjectsOff: true})
	if msgs, _ := c2.Convert(testFrame(0, &media.ObjectMeta{TrackID: 1}), nil); len(msgs) != 0 {
		t.Errorf("objects off: %d messages", len(msgs))
	}
}

func str(v any) string {
	if v == nil {
		return ""
	}
	s, _ := v.(string)
	return s
}

func TestMinimalSchema(t *testing.T) {
	c, _ := New(Options{Payload: Minimal, FrameInterval: 1})
	o1 := &media.ObjectMeta{Label: "car", TrackID: 4, Rect: media.Rect{Left: 1, Top: 2, Width: 10, Height: 20},
		Classifications: []media.Classification{{Label: "blue"}, {Label: "sedan"}}}
	o2 := &media.ObjectMeta{Label: "person", TrackID: -1, Rect: media.Rect{Left: 5, Top: 5, Width: 5, Height: 5}}
	fm := testFrame(9, o1, o2)
	fm.SensorID = "cam-9"
	fm.User = map[string]any{media.AnalyticsKey: &media.AnalyticsFrameMeta{ObjInROI: map[string]int{"RF": 1}}}
	msgs, err := c.Convert(fm, nil)
	if err != nil || len(msgs) != 1 || msgs[0].Kind != KindFrame {
		t.Fatalf("%v %+v", err, msgs)
	}
	m := decode(t, msgs[0])
	objs := m["objects"].([]any)
	if m["version"] != "4.0" || m["id"] != "9" || m["sensorId"] != "cam-9" || m["messageid"] != msgs[0].ID ||
		objs[0] != "4|1|2|11|22|car|#|blue|sedan" || objs[1] != "-1|5|5|10|10|person" {
		t.Errorf("minimal %v", m)
	}
	if m["analytics"].(map[string]any)["roi"].(map[string]any)["RF"] != 1.0 {
		t.Errorf("analytics %v", m["analytics"])
	}
}

func TestConfigErrors(t *testing.T) {
	for _, c := range []struct{ text, want string }{
		{"[sensor0]\nlocation=1;2\n", "msgconv.txt:2: [sensor0] location: want 3 numbers"},
		{"[sensor0]\ncolour=red\n", "colour: unknown key"},
		{"[camera0]\nid=1\n", "[camera0] unknown group"},
		{"[place0]\ncoordinate=a;b;c\n", "coordinate: want a list of numbers"},
	} {
		_, err := ParseConfig("msgconv.txt", []byte(c.text))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: %v, want %q", c.text, err, c.want)
		}
	}
	if _, err := New(Options{Payload: 2}); err == nil || !strings.Contains(err.Error(), "protobuf") {
		t.Errorf("payload 2: %v", err)
	}
	y, err := ParseConfig("c.yml", []byte("sensor1:\n  id: cam-1\n  location: [1, 2, 3]\n"))
	if err != nil || y.Sensors[1].ID != "cam-1" || y.Sensors[1].Location.Alt != 3 {
		t.Errorf("yaml: %v %+v", err, y)
	}
}

// BenchmarkConvertFull: one frame of 20 tracked objects, every frame
// reported (frame-interval 1), full schema.
func BenchmarkConvertFull(b *testing.B) {
	benchConvert(b, Full)
}

// BenchmarkConvertMinimal: the same frame, minimal schema.
func BenchmarkConvertMinimal(b *testing.B) {
	benchConvert(b, Minimal)
}

func benchConvert(b *testing.B, pt PayloadType) {
	c, _ := New(Options{Payload: pt, FrameInterval: 1})
	var objs []*media.ObjectMeta
	for i := 0; i < 20; i++ {
		objs = append(objs, &media.ObjectMeta{Label: "person", TrackID: int64(i), Confidence: 0.5, Rect: media.Rect{Left: float32(i), Top: 1, Width: 20, Height: 40}})
	}
	fm := testFrame(0, objs...)
	var msgs []Message
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		fm.FrameNumber = int64(i)
		msgs, _ = c.Convert(fm, msgs[:0])
	}
	b.ReportMetric(float64(len(msgs)), "msgs/frame")
}

// The attributes an application gives objects (deepstream-test4's
// generate_vehicle_meta / generate_person_meta) go into object.vehicle
// and object.person under DeepStream's names; they choose the object type
// whatever the label.
func TestObjectAttributes(t *testing.T) {
	c, err := New(Options{FrameInterval: 1})
	if err != nil {
		t.Fatal(err)
	}
	car := &media.ObjectMeta{Label: "Car", Confidence: 0.8, TrackID: 1, Rect: media.Rect{Width: 10, Height: 10}}
	car.SetVehicle(&media.VehicleAttrs{Type: "sedan", Make: "Bugatti", Model: "M", Color: "blue", License: "XX1234", Region: "CA"})
	walker := &media.ObjectMeta{Label: "thing", Confidence: 0.7, TrackID: 2, Rect: media.Rect{Width: 10, Height: 10}}
	walker.SetPerson(&media.PersonAttrs{Age: 45, Gender: "male", Hair: "black", Cap: "none", Apparel: "formal"})
	msgs, err := c.Convert(testFrame(0, car, walker), nil)
	if err != nil || len(msgs) != 2 {
		t.Fatalf("%d messages, %v", len(msgs), err)
	}
	v := decode(t, msgs[0])["object"].(map[string]any)["vehicle"].(map[string]any)
	for k, want := range map[string]any{"type": "sedan", "make": "Bugatti", "model": "M", "color": "blue", "license": "XX1234", "licenseState": "CA"} {
		if v[k] != want {
			t.Errorf("vehicle %s = %v, want %v", k, v[k], want)
		}
	}
	p, ok := decode(t, msgs[1])["object"].(map[string]any)["person"].(map[string]any)
	if !ok || p["age"] != 45.0 || p["gender"] != "male" || p["hair"] != "black" || p["cap"] != "none" || p["apparel"] != "formal" {
		t.Errorf("person %v", p)
	}
}
