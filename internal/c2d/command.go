// Package c2d reads DeepStream's cloud-to-device messages: the smart
// recording commands that deepstream-test5 and deepstream-app take from a
// message consumer ([message-consumer%d]; NVIDIA's
// deepstream_c2d_msg_util.c), and the Kafka consumer they come through.
package c2d

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Command is one recording command:
//
//	{"command": "start-recording", "sensor": {"id": "cam1"},
//	 "start": "2020-05-18T20:02:00.051Z", "end": "2020-05-18T20:02:02.851Z"}
//
// command "stop-recording" stops the sensor's recordings; a message without
// command starts one, as in DeepStream.
type Command struct {
	Start  bool   // start-recording; false: stop-recording
	Sensor string // sensor.id
	// From is when the recording starts (start); To when it ends (end),
	// zero when the message gives no end: the recording then lasts the
	// source's smart-rec-default-duration, or until a stop command.
	From, To time.Time
}

// MaxSize bounds a command message: the JSON above is some 150 bytes.
const MaxSize = 64 << 10

// ErrBadCommand marks a message that is not a recording command.
var ErrBadCommand = errors.New("not a recording command")

type badCommand string

func (e badCommand) Error() string        { return string(e) }
func (e badCommand) Is(target error) bool { return target == ErrBadCommand }

func bad(format string, args ...any) error { return badCommand(fmt.Sprintf(format, args...)) }

// Parse reads a command message. Its errors (ErrBadCommand) say what is
// wrong with the message.
func Parse(data []byte) (Command, error) {
	if len(data) > MaxSize {
		return Command{}, bad("message of %d bytes: a recording command is at most %d", len(data), MaxSize)
	}
	var m struct {
		Command *string         `json:"command"`
		Sensor  json.RawMessage `json:"sensor"`
		Start   *string         `json:"start"`
		End     *string         `json:"end"`
	}
	if t := bytes.TrimSpace(data); len(t) == 0 || t[0] != '{' {
		return Command{}, bad("not a JSON object (want {\"command\":\"start-recording\",\"sensor\":{\"id\":...},\"start\":...,\"end\":...})")
	}
	if err := json.Unmarshal(data, &m); err != nil {
		return Command{}, bad("bad JSON: %v", err)
	}
	c := Command{Start: true}
	if m.Command != nil {
		switch *m.Command {
		case "start-recording":
		case "stop-recording":
			c.Start = false
		default:
			return Command{}, bad("unknown command %q (want start-recording or stop-recording)", *m.Command)
		}
	}
	id, err := sensorID(m.Sensor)
	if err != nil {
		return Command{}, err
	}
	c.Sensor = id
	if !c.Start {
		return c, nil
	}
	if m.Start == nil {
		return Command{}, bad("start-recording for sensor %q has no \"start\" time", id)
	}
	if c.From, err = parseTime("start", *m.Start); err != nil {
		return Command{}, err
	}
	if m.End != nil {
		if c.To, err = parseTime("end", *m.End); err != nil {
			return Command{}, err
		}
		if c.To.Before(c.From) {
			return Command{}, bad("end %s is before start %s", *m.End, *m.Start)
		}
	}
	return c, nil
}

// sensorID reads sensor.id: a string (spaces around it trimmed, as
// DeepStream does), or a number (a stream index, written as one).
func sensorID(raw json.RawMessage) (string, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return "", bad("no \"sensor\" (want \"sensor\": {\"id\": ...})")
	}
	var s struct {
		ID json.RawMessage `json:"id"`
	}
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", bad("\"sensor\" is not an object with an id: %v", err)
	}
	var id string
	var n json.Number
	switch {
	case len(s.ID) == 0 || string(s.ID) == "null":
		return "", bad("no \"sensor.id\"")
	case json.Unmarshal(s.ID, &id) == nil:
	case json.Unmarshal(s.ID, &n) == nil:
		id = n.String()
	default:
		return "", bad("sensor.id %s is not a string", s.ID)
	}
	if id = strings.TrimSpace(id); id == "" {
		return "", bad("empty sensor.id")
	}
	return id, nil
}

// parseTime reads DeepStream's UTC times, "2020-05-18T20:02:00.051Z"
// (fractions optional); an offset other than Z is taken, and a time
// without any zone is UTC, as DeepStream reads them all.
func parseTime(field, s string) (time.Time, error) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999"} {
		if t, err := time.Parse(layout, strings.TrimSpace(s)); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, bad("%s %q is not a UTC time like 2020-05-18T20:02:00.051Z", field, s)
}
